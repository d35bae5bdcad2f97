"""A real `laambda worker` process (Celery, prefork) for tests: started and waited for until
it says it is ready."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from laambda.config import Settings  # noqa: E402
from laambda.worker.enqueue import CeleryQueue  # noqa: E402


class LiveWorker:
    """A real `laambda worker` process (Celery, prefork) on the real Redis, moto and the test
    database. Tests send it work with `queue` and may kill its pool child mid-task."""

    def __init__(
        self,
        settings: Settings,
        env: dict[str, str],
        process: subprocess.Popen[str],
        output: list[str],
    ) -> None:
        self.settings = settings
        self.env = env
        self.process = process
        self.output = output
        self.queue = CeleryQueue(settings)

    def tail(self, lines: int = 40) -> str:
        return "".join(self.output[-lines:])

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def start_worker(env: dict[str, str]) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "laambda.worker.main"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if " ready." in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(90):
        process.kill()
        raise RuntimeError("the worker did not start:\n" + "".join(output[-40:]))
    return process, output
