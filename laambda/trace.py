"""Timestamps of a push's stages, for bench/bench_push.py's breakdown of where a push's time goes.

Off unless the environment names a file in LAAMBDA_TRACE_FILE (a debugging aid, not a
setting: it reaches the receiver, its git hook and the worker through their environment).
Each stage appends one line `<stage> <unix time> <build or "-">` to that file; lines from
several processes interleave safely because each is a single small O_APPEND write.
Standard library only: the git hook imports it before anything else.
"""

from __future__ import annotations

import os
import time

TRACE_FILE = "LAAMBDA_TRACE_FILE"


def mark(stage: str, subject: object = "-", *, at: float | None = None) -> None:
    """Record that `stage` was reached now (or at `at`, unix seconds); no-op when tracing
    is off. Never raises: a trace must not fail a push."""
    path = os.environ.get(TRACE_FILE)
    if not path:
        return
    line = f"{stage} {time.time() if at is None else at:.6f} {subject}\n".encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError:
        pass


def process_started() -> float:
    """When this process started (unix seconds, 10 ms resolution), from /proc; now if unknown.
    For the git hook, whose interpreter start and imports are part of a push's cost."""
    try:
        with open("/proc/self/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of proc(5), counted after the command name
        since = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
        return time.time() - since
    except (OSError, ValueError, IndexError):
        return time.time()
