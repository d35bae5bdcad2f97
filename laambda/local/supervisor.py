"""`laambda up`'s children (the worker, the git receiver) kept running: a part that exits is
started again within a second; one that keeps exiting (more than `max_restarts` times within
`window` seconds) is given up on, and `on_failure` is told which part and where its log is.

Each part writes to `<log dir>/<part>.log`. `report()` is what /health shows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STOP_SECONDS = 15  # a worker finishing its task on SIGTERM, before it is killed


@dataclass
class Part:
    name: str
    command: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    status: str = "starting"  # starting, up, failed, stopped
    restarts: list[float] = field(default_factory=list)
    last_exit: int | None = None


class Supervisor:
    def __init__(
        self,
        commands: dict[str, list[str]],
        log_dir: Path,
        env: dict[str, str],
        *,
        on_restart: Callable[[str], None],
        on_failure: Callable[[str], None],
        max_restarts: int = 5,
        window: float = 60.0,
        interval: float = 0.5,
    ) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.parts = {
            name: Part(name, command, log_dir / f"{name}.log") for name, command in commands.items()
        }
        self._env = env
        self._on_restart = on_restart
        self._on_failure = on_failure
        self._max_restarts = max_restarts
        self._window = window
        self._interval = interval
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def start(self) -> None:
        for part in self.parts.values():
            self._spawn(part)
        self._thread.start()

    def _spawn(self, part: Part) -> None:
        with part.log.open("ab") as log:
            part.process = subprocess.Popen(
                part.command,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own children are stopped with it (_signal)
            )
        part.status = "up"

    def _watch(self) -> None:
        while not self._stopping.wait(self._interval):
            for part in self.parts.values():
                with self._lock:
                    if self._stopping.is_set() or part.status != "up" or part.process is None:
                        continue
                    code = part.process.poll()
                    if code is None:
                        continue
                    part.last_exit = code
                    _signal(part.process, signal.SIGKILL)  # what it left behind (pool children)
                    now = time.monotonic()
                    part.restarts = [t for t in part.restarts if now - t < self._window]
                    if len(part.restarts) >= self._max_restarts:
                        part.status = "failed"
                        message = (
                            f"the {part.name} exited {len(part.restarts) + 1} times within "
                            f"{self._window:.0f} s (last exit code {code}); see {part.log}"
                        )
                    else:
                        part.restarts.append(now)
                        self._spawn(part)
                        message = ""
                if message:
                    self._on_failure(message)
                else:
                    self._on_restart(
                        f"the {part.name} exited (code {code}); started it again (log: {part.log})"
                    )

    def report(self) -> dict[str, dict[str, Any]]:
        """Each part: status (up, failed, stopped), pid, restarts in the window, its log."""
        with self._lock:
            return {
                part.name: {
                    "status": part.status,
                    "pid": part.process.pid if part.process else None,
                    "restarts": len(part.restarts),
                    "log": str(part.log),
                }
                for part in self.parts.values()
            }

    def stop(self) -> None:
        """Terminate every part, killing those still running after STOP_SECONDS."""
        self._stopping.set()
        with self._lock:
            running = [p.process for p in self.parts.values() if p.process is not None]
            for part in self.parts.values():
                part.status = "stopped"
        for process in running:
            _signal(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal(process, signal.SIGKILL)
            process.wait()


def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
    """Signal the part's whole process group (it leads one of its own)."""
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass
