"""Run `laambda ARGS` in a process of its own without paying for Python's start and the CLI's
imports each time: a zygote process imports the CLI once, then forks one child per command.

Each child is a real process, as a user's `laambda` is: its own argv, environment, working
folder, stdin, stdout, stderr and exit status; only the interpreter's start, the imports and
the command tree Typer builds (about 0.45 CPU-s a command, some hundred commands a run) are
shared. The zygote holds no thread and no connection when it forks. Several commands may run at
once (a test may run one in a thread while it runs another).
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# The zygote: reads one JSON request per line on stdin, forks a child for each, and writes
# {"id": …, "status": …} when that child ends (status as os.waitstatus_to_exitcode gives it,
# -9 when it outran its timeout and was killed).
_ZYGOTE = r"""
import json, os, selectors, signal, sys, time
import laambda.cli.main  # the imports every command shares
import typer.main

# What each command would do first, done once: Typer builds the click command tree of the app
# at every call, and imports its parameter conversion (pydantic) and httpx's transport on first
# use (about 0.15 CPU-s of a command's 0.25). The tree is built, never invoked, before a fork.
import typer._adapters, httpcore  # noqa: E401
_built = typer.main.get_command(laambda.cli.main.app)
_get_command = typer.main.get_command
typer.main.get_command = lambda app: _built if app is laambda.cli.main.app else _get_command(app)

def child(request):
    os.setsid()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    streams = [("stdin", os.O_RDONLY), ("stdout", os.O_WRONLY), ("stderr", os.O_WRONLY)]
    for fd, (name, mode) in enumerate(streams):
        path = request[name]
        opened = os.open(path, mode)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    sys.argv = ["laambda", *request["argv"]]
    code = 0
    try:
        laambda.cli.main.app()
    except SystemExit as exc:  # as the interpreter ends: a number, or None, or a message
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)

running = {}  # pid -> (id, deadline)
selector = selectors.DefaultSelector()
selector.register(0, selectors.EVENT_READ)
out = sys.stdout
pending = b""
while True:
    for _ in selector.select(timeout=0.02 if running else None):
        data = os.read(0, 65536)
        if not data:
            for pid in running:
                os.killpg(pid, signal.SIGKILL)
            os._exit(0)
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                selector.close()
                child(request)
            running[pid] = (request["id"], time.monotonic() + request["timeout"])
    now = time.monotonic()
    for pid, (ident, deadline) in list(running.items()):
        if now > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            del running[pid]
            out.write(json.dumps({"id": ident, "status": os.waitstatus_to_exitcode(status),
                                  "timed_out": now > deadline}) + "\n")
            out.flush()
"""


class Zygote:
    """One zygote per test process (`zygote()`); `run` is safe to call from several threads."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("LAAMBDA_")},
        )
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[threading.Event, dict[str, object]]] = {}
        self._next = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            reply = json.loads(line)
            with self._lock:
                event, result = self._waiting.pop(reply["id"])
            result.update(reply)
            event.set()

    def run(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, stdin: str | None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Run `laambda ARGV` as subprocess.run(…, capture_output=True, text=True) would;
        raises subprocess.TimeoutExpired when it runs longer than `timeout` seconds."""
        with tempfile.TemporaryDirectory(prefix="laambda-cli-") as folder:
            files = {name: Path(folder) / name for name in ("stdin", "stdout", "stderr")}
            files["stdin"].write_text(stdin or "")
            files["stdout"].touch()
            files["stderr"].touch()
            event, result = threading.Event(), dict[str, object]()
            with self._lock:
                ident, self._next = self._next, self._next + 1
                self._waiting[ident] = (event, result)
                request = {"id": ident, "argv": argv, "env": env, "cwd": str(cwd)}
                request |= {name: str(path) for name, path in files.items()}
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps(request | {"timeout": timeout}) + "\n")
                self.process.stdin.flush()
            if not event.wait(timeout + 30):
                raise RuntimeError(f"the CLI zygote did not answer for laambda {argv}")
            stdout = files["stdout"].read_text(errors="replace")
            stderr = files["stderr"].read_text(errors="replace")
        args = ["laambda", *argv]
        if result["timed_out"]:
            raise subprocess.TimeoutExpired(args, timeout, stdout, stderr)
        status = result["status"]
        assert isinstance(status, int)
        return subprocess.CompletedProcess(args, status, stdout, stderr)

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


_zygote: Zygote | None = None
_started = threading.Lock()


def zygote() -> Zygote:
    """This test process's zygote, started on first use and closed when the process exits."""
    global _zygote
    with _started:
        if _zygote is None or _zygote.process.poll() is not None:
            _zygote = Zygote()
            atexit.register(_zygote.close)
        return _zygote
