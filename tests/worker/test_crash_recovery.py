"""A worker killed (SIGKILL) anywhere in a deploy: within a minute every `live` alias of the
app is on the versions of one release, and the database says which (DESIGN.md invariants).

These tests share a worker of their own (tests/support/crash.py), with the recovery sweep every
2 s and two functions deployed at a time: the worker paces its Lambda calls at 15 a second
(Settings.lambda_rate), so publishing 30 versions or moving 30 aliases takes two seconds or
more, long enough to be cut short. Each test waits until what it killed has recovered.
"""

from __future__ import annotations

import os
import signal
import time

from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from laambda.domain.status import ReleaseStatus
from laambda.services.release import release_service
from tests.support.crash import (
    kill_pool,
    push_watched,
    wait_for,
)
from tests.support.live_worker import LiveWorker, start_worker
from tests.support.platform import Platform, python_app

ENTRIES = [f"fn{n:02d}" for n in range(30)]
RECOVERY_SECONDS = 60


def _aliases(platform: Platform, app: str) -> dict[str, str]:
    client = platform.lambda_client
    return {
        f"{app}-{e}": client.get_alias(FunctionName=f"{app}-{e}", Name="live")["FunctionVersion"]
        for e in ENTRIES
    }


def _settled(platform: Platform, app: App) -> Release | None:
    """The app's current release once nothing of the app is pending or applying any more."""
    with session_scope(platform.sessions) as session:
        row = session.get_one(App, app.id)
        if any(r.app_id == app.id for r in release_service.unfinished(session)):
            return None
        return release_service.current(session, row)


def _assert_consistent_within_a_minute(platform: Platform, app: App, killed_at: float) -> Release:
    current: Release | None = None

    def settled() -> bool:
        nonlocal current
        current = _settled(platform, app)
        return current is not None

    wait_for(settled, "the release was not finished", platform, RECOVERY_SECONDS)
    assert current is not None
    assert current.status == ReleaseStatus.SUCCEEDED, current.error
    assert time.monotonic() - killed_at < RECOVERY_SECONDS
    # every alias on the versions of the one release the database calls current
    assert _aliases(platform, app.name) == current.function_versions
    return current


def _deployed(platform: Platform, app: App) -> dict[str, str]:
    first = push_watched(platform, app, python_app(ENTRIES), commit="1" * 40)
    wait_for(first.ended.is_set, "the first push did not end", platform, 300)
    assert first.events[-1].status == "succeeded", first.events[-1].detail
    return _aliases(platform, app.name)


def test_pool_killed_while_publishing_versions(crash_platform: Platform) -> None:
    platform = crash_platform
    app = platform.create_app("pub")
    before = _deployed(platform, app)
    second = push_watched(platform, app, python_app(ENTRIES, marker="2"), commit="2" * 40)
    wait_for(lambda: second.lines(": version 2") >= 10, "no versions", platform, 300)

    kill_pool(platform)
    killed_at = time.monotonic()
    assert 10 <= second.lines(": version 2") < len(ENTRIES)  # cut short while publishing

    current = _assert_consistent_within_a_minute(platform, app, killed_at)
    assert current.version == 2
    assert set(current.function_versions or {}) == set(before)
    wait_for(second.ended.is_set, "the pusher was not told", platform, 30)
    assert second.events[-1].detail.startswith("Released v2: "), second.events[-1]
    assert second.lines("deploying it again") == 1


def test_pool_killed_while_moving_aliases(crash_platform: Platform) -> None:
    platform = crash_platform
    app = platform.create_app("mov")
    _deployed(platform, app)
    second = push_watched(platform, app, python_app(ENTRIES, marker="2"), commit="2" * 40)
    client = platform.lambda_client
    wait_for(
        lambda: client.get_alias(FunctionName="mov-fn00", Name="live")["FunctionVersion"] == "2",
        "live never moved",
        platform,
        300,
    )

    kill_pool(platform)
    killed_at = time.monotonic()
    half = _aliases(platform, app.name)
    assert set(half.values()) == {"1", "2"}, "not cut short while moving aliases"

    current = _assert_consistent_within_a_minute(platform, app, killed_at)
    assert current.version == 2
    wait_for(second.ended.is_set, "the pusher was not told", platform, 30)
    assert second.events[-1].status == "succeeded", second.events[-1]


def test_whole_worker_killed_while_moving_aliases_is_finished_by_the_next(
    crash_platform: Platform,
) -> None:
    """No broker redelivery here (the task stays unacknowledged for the visibility timeout,
    an hour): only the next worker's recovery sweep finishes the release."""
    platform = crash_platform
    app = platform.create_app("whole")
    _deployed(platform, app)
    release_id = platform.change_config(app, {"BUCKET": "after"})
    client = platform.lambda_client
    wait_for(
        lambda: client.get_alias(FunctionName="whole-fn00", Name="live")["FunctionVersion"] == "2",
        "live never moved",
        platform,
        300,
    )
    children = platform.worker.children()
    os.kill(platform.worker.process.pid, signal.SIGKILL)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    platform.worker.process.wait()
    time.sleep(0.5)  # its output reader sees the end of the pipe
    if platform.worker.process.stdout is not None:
        platform.worker.process.stdout.close()
    assert set(_aliases(platform, app.name).values()) == {"1", "2"}

    process, output = start_worker(platform.worker.env)
    platform.worker = LiveWorker(platform.worker.settings, platform.worker.env, process, output)

    current = _assert_consistent_within_a_minute(platform, app, killed_at)
    assert current.id == release_id
    live = platform.live(f"whole-{ENTRIES[-1]}")
    assert live["Environment"]["Variables"] == {"BUCKET": "after"}


def test_a_busy_pool_child_killed_then_more_work_all_succeeds(crash_platform: Platform) -> None:
    """A replacement child must not use the connections it inherited from the main process
    (which the recovery sweep uses): it once failed every task with DuplicatePreparedStatement."""
    platform = crash_platform
    app = platform.create_app("busy")
    pushed = push_watched(platform, app, python_app(["web", "api"]), commit="3" * 40)
    wait_for(lambda: pushed.lines("Python app detected") >= 1, "no build", platform, 60)
    kill_pool(platform)
    wait_for(pushed.ended.is_set, "the killed build never ended", platform, 120)

    for n in range(3):
        again = platform.push(app, python_app(["web", "api"], marker=f"m{n}"), commit=f"{n}" * 40)
        assert again.outcome.status == "succeeded", again.text + platform.worker.tail()
        release = platform.wait_release(platform.change_config(app, {"NN": str(n)}), timeout=60)
        assert release.status == "succeeded", release.error
    with session_scope(platform.sessions) as session:
        last = release_service.current(session, session.get_one(App, app.id))
        assert last is not None
        assert last.status == "succeeded"
        build = session.get_one(Build, pushed.build_id)
        assert build.status in ("succeeded", "abandoned")
    assert "DuplicatePreparedStatement" not in "".join(platform.worker.output)
