"""A worker killed in the middle of a deploy: the task runs again and AWS and the database end
consistent (acks late + reject on worker lost; the deploy engine skips what AWS already has)."""

from __future__ import annotations

import os
import signal
import time

from sqlalchemy.orm import Session

from laambda.db.models import Release
from laambda.db.session import session_scope
from tests.support.platform import Platform, python_app

ENTRIES = [f"fn{n:02d}" for n in range(40)]


def _status(platform: Platform, release_id: int) -> str:
    with session_scope(platform.sessions) as session:
        return _get(session, release_id).status


def _get(session: Session, release_id: int) -> Release:
    return session.get_one(Release, release_id)


def test_killed_mid_deploy_then_run_again_is_consistent(platform: Platform) -> None:
    app = platform.create_app("big")
    pushed = platform.push(app, python_app(ENTRIES), commit="c" * 40, timeout=600)
    assert pushed.outcome.status == "succeeded", pushed.text

    release_id = platform.change_config(app, {"BUCKET": "after-crash"})
    deadline = time.monotonic() + 60
    while _status(platform, release_id) != "applying":
        assert time.monotonic() < deadline, platform.worker.tail()
        time.sleep(0.02)
    children = platform.worker.children()
    assert children, "the worker has no pool processes"
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    assert _status(platform, release_id) == "applying"  # cut short, not finished

    release = platform.wait_release(release_id, timeout=300)
    assert release.status == "succeeded", release.log
    versions = release.function_versions or {}
    assert sorted(versions) == sorted(f"big-{entry}" for entry in ENTRIES)
    for name, version in versions.items():
        live = platform.live(name)
        assert live["Version"] == version
        assert live["Environment"]["Variables"] == {"BUCKET": "after-crash"}
    assert "WorkerLostError" in platform.worker.tail(200) or "SIGKILL" in platform.worker.tail(200)
