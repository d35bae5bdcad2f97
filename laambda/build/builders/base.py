"""What every builder is given and must do, and the streaming of a host process's output.

A builder installs an app's dependencies for Lambda into an empty folder; the pipeline zips
that folder and caches it. Builders never see the app's own code, only its dependency files,
so the same dependencies give the same folder whatever else changed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from laambda.domain.runtime import Runtime
from laambda.errors import BuildFailed

Log = Callable[[str], None]
CANCELLED = "build cancelled"


@dataclass(frozen=True)
class InstallPlan:
    """The dependencies to install: a folder of dependency files and the target platform."""

    runtime: Runtime
    architecture: str
    files: Path  # holds requirements.txt (Python) or package.json [+ lock] (Node.js)
    lockfile: str | None
    workdir: Path  # scratch space of this build
    cache_dir: Path  # download caches shared by builds on this host


class Builder(Protocol):
    name: str

    def install(
        self,
        plan: InstallPlan,
        out: Path,
        *,
        log: Log,
        cancel: threading.Event | None,
        timeout: float,
    ) -> None:
        """Install the plan's dependencies into `out`, streaming output to `log` line by line."""


@contextmanager
def stop_on(
    kill: Callable[[], None], *, cancel: threading.Event | None, timeout: float
) -> Iterator[None]:
    """Run the block; call `kill` if the build is cancelled or runs past `timeout` seconds,
    and then raise BuildFailed saying which (the block's own ending is then irrelevant)."""
    stopped: list[str] = []
    done = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while not done.wait(0.1):
            reason = CANCELLED if cancel is not None and cancel.is_set() else None
            if time.monotonic() > deadline:
                reason = f"build timed out after {timeout:.0f} s"
            if reason:
                stopped.append(reason)
                kill()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    except Exception:
        if not stopped:
            raise
    finally:
        done.set()
        watcher.join()
    if stopped:
        raise BuildFailed(stopped[0])


def run_streaming(
    command: Sequence[str],
    *,
    log: Log,
    cancel: threading.Event | None,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[int, list[str]]:
    """Run a host command, sending each output line to `log` as it comes; (exit code, lines).

    The process gets its own process group so cancelling or timing out stops its children too.
    """
    process = subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        text=True,
        bufsize=1,
        start_new_session=True,
    )
    lines: list[str] = []
    assert process.stdout is not None

    def kill() -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    with stop_on(kill, cancel=cancel, timeout=timeout), process:
        for raw in process.stdout:
            line = raw.rstrip("\n")
            lines.append(line)
            log(f"       {line}")
        code = process.wait()
    return code, lines
