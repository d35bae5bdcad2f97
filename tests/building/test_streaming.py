"""Builder output reaches the log line by line as it happens; timeouts and cancels stop it."""

from __future__ import annotations

import threading
import time

import pytest

from laambda.building.builders.base import run_streaming
from laambda.errors import BuildFailed


def test_lines_arrive_while_the_process_still_runs() -> None:
    seen: list[tuple[str, float]] = []
    start = time.monotonic()
    code, lines = run_streaming(
        ["sh", "-c", "echo first; sleep 1; echo second"],
        log=lambda line: seen.append((line, time.monotonic() - start)),
        cancel=None,
        timeout=30,
    )
    assert (code, lines) == (0, ["first", "second"])
    assert [line for line, _ in seen] == ["       first", "       second"]
    assert seen[0][1] < 0.9 < seen[1][1]


def test_timeout_kills_the_process_and_its_children() -> None:
    start = time.monotonic()
    with pytest.raises(BuildFailed, match="^build timed out after 1 s$"):
        run_streaming(["sh", "-c", "sleep 30 & sleep 30"], log=print, cancel=None, timeout=1)
    assert time.monotonic() - start < 5


def test_cancel() -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(BuildFailed, match="^build cancelled$"):
        run_streaming(["sleep", "30"], log=print, cancel=cancel, timeout=60)
