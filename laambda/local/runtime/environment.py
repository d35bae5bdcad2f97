"""One execution environment: a runtime process serving one invocation at a time through its
own Runtime API, kept warm between invocations as Lambda keeps its environments.

The process's output (stdout and stderr, unbuffered) is read by the invoking thread while it
waits, so every line the handler printed before answering belongs to that invocation. A
function that does not answer within its timeout is killed with its process group, as Lambda
stops it; a process that dies is replaced on the next invocation (a new cold start).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from laambda.local.runtime.api import Event, RuntimeApi
from laambda.local.runtime.spec import (
    LocalFunction,
    Outcome,
    error_payload,
    timeout_line,
    timeout_message,
)

INIT_LIMIT = 10.0  # seconds: Lambda's limit for the init phase of an on-demand function


class Environment:
    """A warm process for one LocalFunction; `invoke` is called by one thread at a time."""

    def __init__(
        self,
        spec: LocalFunction,
        command: list[str],
        env: dict[str, str],
        task: Path,
        socket: Path | None = None,
    ):
        """`socket`: serve the Runtime API there (a sandboxed function; its folder is removed
        on close), else on 127.0.0.1."""
        self.spec = spec
        self._command = command
        self._env = env
        self._task = task
        self._lock = threading.Condition()
        self._event: Event | None = None
        self._request_id = ""
        self._answer: tuple[bool, bytes] | None = None  # (error?, body)
        self._init_error: bytes | None = None
        self._handed_at: float | None = None
        self._ready_at: float | None = None
        self._closed = False
        self._wake_r, self._wake_w = os.pipe()
        self._socket = socket
        self._api = RuntimeApi(self, socket)
        self.process: subprocess.Popen[bytes] | None = None
        self.stream = f"{datetime.now(UTC):%Y/%m/%d}/[{spec.version}]{uuid.uuid4().hex}"
        self.last_used = time.monotonic()
        self._pending = b""  # output not yet ended by a newline

    # -- the Runtime API's side ------------------------------------------------------------
    def next_event(self) -> Event | None:
        with self._lock:
            if self._ready_at is None:
                self._ready_at = time.perf_counter()
            while self._event is None and not self._closed:
                self._lock.wait()
            event, self._event = self._event, None
            self._handed_at = time.perf_counter()
            if event is not None:
                self._wake()  # the invoker's clock now runs on the function's timeout
            return event

    def answered(self, request_id: str, *, error: bool, body: bytes) -> None:
        with self._lock:
            if request_id == self._request_id:  # not a late answer to a stopped invocation
                self._answer = (error, body)
                self._wake()

    def init_failed(self, body: bytes) -> None:
        with self._lock:
            self._init_error = body
            self._wake()

    def _wake(self) -> None:
        """Tell the invoker to look again (called with the lock held; never after close)."""
        if not self._closed:
            os.write(self._wake_w, b".")

    # -- the invoker's side ----------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return not self._closed and (self.process is None or self.process.poll() is None)

    def _start(self) -> None:
        self._env["AWS_LAMBDA_RUNTIME_API"] = self._api.address
        self._env["AWS_LAMBDA_LOG_STREAM_NAME"] = self.stream
        self.process = subprocess.Popen(
            self._command,
            cwd=self._task,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its children die with it
        )

    def invoke(self, payload: bytes) -> Outcome:
        """Run one event to its end: the answer, a function error, a crash or the timeout."""
        request_id = str(uuid.uuid4())
        cold = self.process is None
        begun = time.perf_counter()
        if cold:
            self._start()
        assert self.process is not None
        assert self.process.stdout is not None
        timeout = self.spec.timeout + (INIT_LIMIT if cold else 0)
        with self._lock:
            self._answer = None
            self._handed_at = None
            self._request_id = request_id
            self._event = Event(
                request_id,
                payload,
                int((time.time() + self.spec.timeout) * 1000),
                self.spec.arn,
            )
            self._lock.notify_all()
        lines: list[str] = []
        output = self.process.stdout.fileno()
        deadline = begun + timeout
        finished: tuple[bool, bytes] | None = None
        exited = False
        while finished is None and not exited:
            remaining = deadline - time.perf_counter()
            with self._lock:
                handed = self._handed_at
            if handed is not None:  # the function's own clock runs from its event
                remaining = handed + self.spec.timeout - time.perf_counter()
            if remaining <= 0:
                break
            readable, _, _ = select.select([output, self._wake_r], [], [], remaining)
            if output in readable and not self._read(output, lines):
                exited = True
            if self._wake_r in readable:
                os.read(self._wake_r, 64)
                with self._lock:
                    if self._answer is not None:
                        finished = self._answer
                    elif self._init_error is not None:
                        finished = (True, self._init_error)
        ended = time.perf_counter()
        self._drain(output, lines)
        with self._lock:
            handed, ready = self._handed_at, self._ready_at
        init_ms = ((ready or ended) - begun) * 1000 if cold else None
        duration_ms = (ended - (handed or ended)) * 1000
        memory = self._max_memory_mb()
        self.last_used = time.monotonic()
        if finished is not None and self._init_error is None:
            error, body = finished
            return Outcome(
                request_id,
                body,
                "Unhandled" if error else None,
                lines,
                duration_ms,
                init_ms,
                memory,
                self.stream,
            )
        self.close()
        if finished is not None:  # the init phase failed: Lambda answers with its error
            body = finished[1]
            return Outcome(
                request_id, body, "Unhandled", lines, duration_ms, init_ms, memory, self.stream
            )
        if exited:
            code = self.process.wait()
            how = f"signal: {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            message = f"RequestId: {request_id} Error: Runtime exited with error: {how}"
            lines.append(message)
            return Outcome(
                request_id,
                error_payload("Runtime.ExitError", message),
                "Unhandled",
                lines,
                duration_ms,
                init_ms,
                memory,
                self.stream,
            )
        lines.append(timeout_line(request_id, self.spec.timeout))
        return Outcome(
            request_id,
            error_payload("Sandbox.Timedout", timeout_message(request_id, self.spec.timeout)),
            "Unhandled",
            lines,
            self.spec.timeout * 1000,
            init_ms,
            memory,
            self.stream,
            timed_out=True,
        )

    def _read(self, fd: int, lines: list[str]) -> bool:
        """Take what the process printed; False at the end of its output (it exited)."""
        chunk = os.read(fd, 65536)
        if not chunk:
            if self._pending:
                lines.append(self._pending.decode("utf-8", "replace"))
                self._pending = b""
            return False
        *complete, self._pending = (self._pending + chunk).split(b"\n")
        # awslambdaric writes a multi-line record as one line with \r between its lines
        lines.extend(line.decode("utf-8", "replace").replace("\r", "\n") for line in complete)
        return True

    def _drain(self, fd: int, lines: list[str]) -> None:
        """What was printed before the answer is already in the pipe: take all of it."""
        while select.select([fd], [], [], 0)[0]:
            if not self._read(fd, lines):
                return

    def _max_memory_mb(self) -> int:
        """The peak resident memory (VmHWM) of the function's process, as Lambda's Max Memory
        Used: the largest in the process tree (the runtime runs below the sandbox's)."""
        if self.process is None:
            return 0
        peak, pending = 0, [self.process.pid]
        while pending:
            pid = pending.pop()
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            pending += [int(child) for child in children]
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) // 1024)
        return peak

    def close(self) -> None:
        """Stop the process and its children and the Runtime API (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._lock.notify_all()
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
        with self._lock:
            os.close(self._wake_r)
            os.close(self._wake_w)
        # shutting the server down waits up to its poll interval: not on the invoker's time
        threading.Thread(target=self._stop_api, daemon=True).start()

    def _stop_api(self) -> None:
        self._api.close()
        if self._socket is not None:
            shutil.rmtree(self._socket.parent, ignore_errors=True)
