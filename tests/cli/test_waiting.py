"""Commands that wait for their release stop as soon as it has ended, whatever the end
(config:set, config:unset, resource:* and rollback share laambda/cli/common.py `settle`)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from laambda.db.models import Release
from laambda.db.session import session_scope
from tests.support.cli import Cli, end_release_soon


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("abandoned", "its worker died while applying it"),
        ("failed", "AWS said no: the role cannot be assumed"),
    ],
)
def test_config_set_stops_on_an_ended_release_and_says_why(
    held_cli: Cli, status: str, error: str
) -> None:
    assert held_cli("apps:create", "thumbs").returncode == 0
    ender = end_release_soon(held_cli, 1, status, error)
    started = time.monotonic()
    setting = held_cli("config:set", "BUCKET=photos", "-a", "thumbs")
    waited = time.monotonic() - started
    ender.join()
    assert setting.returncode == 1
    assert setting.stderr.strip() == f"laambda: v1 {status}: {error}"
    assert waited < 15  # it once waited the full 120 s for an abandoned release


def test_a_canary_release_is_followed_to_the_end_of_its_window(held_cli: Cli) -> None:
    """A command follows a release only so long without progress (LAAMBDA_FOLLOW_SECONDS, 2 s
    here), but a canary window longer than that is waited out: it once gave up after 120 s
    whatever the window."""
    assert held_cli("apps:create", "thumbs").returncode == 0

    def worker() -> None:  # as rollout.py and canary.py do: a window of 5 s, then all moved
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _exists(held_cli, 1):
            time.sleep(0.2)
        now = datetime.now(UTC)
        with session_scope(held_cli.sessions) as session:
            session.execute(
                update(Release)
                .where(Release.version == 1)
                .values(
                    status="canary",
                    canary_percent=10,
                    canary_started_at=now,
                    canary_ends_at=now + timedelta(seconds=5),
                )
            )
        time.sleep(5)
        with session_scope(held_cli.sessions) as session:
            session.execute(update(Release).where(Release.version == 1).values(status="succeeded"))

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    setting = held_cli(
        "config:set", "BUCKET=photos", "-a", "thumbs", env={"LAAMBDA_FOLLOW_SECONDS": "2"}
    )
    thread.join(30)
    assert setting.returncode == 0, setting.stderr
    assert "done, v1" in setting.stdout, setting.stdout


def test_a_release_without_progress_is_left_after_the_follow_time(held_cli: Cli) -> None:
    assert held_cli("apps:create", "thumbs").returncode == 0
    setting = held_cli(
        "config:set", "BUCKET=photos", "-a", "thumbs", env={"LAAMBDA_FOLLOW_SECONDS": "1"}
    )
    assert setting.returncode == 0, setting.stderr
    assert "v1 is still pending (`laambda releases:info v1`)" in setting.stdout, setting.stdout
    refused = held_cli(
        "config:set", "MODE=fast", "-a", "thumbs", env={"LAAMBDA_FOLLOW_SECONDS": "x"}
    )
    assert refused.returncode == 1
    assert "LAAMBDA_FOLLOW_SECONDS='x' is not a number of seconds" in refused.stderr
    assert "MODE" not in held_cli("config", "-a", "thumbs").stdout  # refused before changing


def test_a_change_carried_by_a_newer_release_reports_that_one(held_cli: Cli) -> None:
    """Two config:set at once: the worker applies only the newer release, which carries both
    changes; the first command follows it and succeeds instead of reporting `abandoned`."""
    assert held_cli("apps:create", "thumbs").returncode == 0
    results: dict[str, str | int] = {}

    def set_config(key: str) -> None:
        done = held_cli("config:set", f"{key}=1", "-a", "thumbs")
        results[key] = done.returncode
        results[f"{key}-out"] = done.stdout + done.stderr

    first = threading.Thread(target=set_config, args=("BUCKET",))
    first.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _exists(held_cli, 1):
        time.sleep(0.2)
    second = threading.Thread(target=set_config, args=("MODE",))
    second.start()
    while time.monotonic() < deadline and not _exists(held_cli, 2):
        time.sleep(0.2)
    with session_scope(held_cli.sessions) as session:  # as the worker does (rollout.py)
        session.execute(
            update(Release)
            .where(Release.version == 1)
            .values(status="abandoned", error="superseded by v2", superseded_by=2)
        )
        session.execute(update(Release).where(Release.version == 2).values(status="succeeded"))
    first.join(30)
    second.join(30)
    assert results["BUCKET"] == 0, results
    assert "done, v2 (v1 was carried by v2)" in str(results["BUCKET-out"])
    assert results["MODE"] == 0, results


def _exists(cli: Cli, version: int) -> bool:
    with session_scope(cli.sessions) as session:
        return session.scalar(select(Release.id).where(Release.version == version)) is not None
