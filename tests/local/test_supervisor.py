"""`laambda up`'s supervisor with real processes: a part that exits is started again; one that
keeps exiting is given up on with a message naming it and its log."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from laambda.local.supervisor import Supervisor


def _wait(condition: threading.Event, seconds: float) -> bool:
    return condition.wait(seconds)


def _printed(log: Path, times: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().count("hi") >= times:
            return
        time.sleep(0.05)
    raise AssertionError(f"{log} does not show {times} starts")


def test_a_part_that_exits_is_restarted(tmp_path: Path) -> None:
    restarted = threading.Event()
    lines: list[str] = []

    def on_restart(line: str) -> None:
        lines.append(line)
        restarted.set()

    supervisor = Supervisor(
        {"sleeper": [sys.executable, "-c", "import time; print('hi', flush=True); time.sleep(60)"]},
        tmp_path / "logs",
        {},
        on_restart=on_restart,
        on_failure=lines.append,
        interval=0.1,
    )
    supervisor.start()
    try:
        first = supervisor.report()["sleeper"]
        assert first["status"] == "up"
        _printed(tmp_path / "logs" / "sleeper.log", 1)
        supervisor.parts["sleeper"].process.kill()  # type: ignore[union-attr]
        assert _wait(restarted, 5), lines
        second = supervisor.report()["sleeper"]
        assert second["pid"] != first["pid"]
        assert (second["status"], second["restarts"]) == ("up", 1)
        assert lines[0].startswith("the sleeper exited (code -9); started it again (log: ")
        _printed(tmp_path / "logs" / "sleeper.log", 2)  # the log goes on
    finally:
        supervisor.stop()
    assert supervisor.report()["sleeper"]["status"] == "stopped"
    assert supervisor.parts["sleeper"].process.poll() is not None  # type: ignore[union-attr]


def test_a_part_that_keeps_exiting_is_given_up_on(tmp_path: Path) -> None:
    failed = threading.Event()
    failures: list[str] = []

    def on_failure(message: str) -> None:
        failures.append(message)
        failed.set()

    supervisor = Supervisor(
        {"worker": [sys.executable, "-c", "raise SystemExit(3)"]},
        tmp_path / "logs",
        {},
        on_restart=lambda _line: None,
        on_failure=on_failure,
        max_restarts=2,
        interval=0.1,
    )
    started = time.monotonic()
    supervisor.start()
    try:
        assert _wait(failed, 20)
    finally:
        supervisor.stop()
    assert time.monotonic() - started < 20
    log = tmp_path / "logs" / "worker.log"
    assert failures == [f"the worker exited 3 times within 60 s (last exit code 3); see {log}"]
