"""One release at a time per app; what a dead worker left is found and done again."""

from __future__ import annotations

import time

from laambda.crypto import Cipher
from laambda.db.locks import LockKind, advisory_lock, is_locked
from laambda.db.models import Build, Release
from laambda.db.session import session_scope
from laambda.logstream import follow
from laambda.worker.context import WorkerContext
from laambda.worker.sweep import BUILD_ATTEMPTS, RESEND_SECONDS, Sweeper
from tests.support.archives import tarball
from tests.support.platform import Platform, python_app


def test_release_waits_for_the_apps_lock_and_other_apps_go_on(platform: Platform) -> None:
    blocked = platform.create_app("blocked")
    free = platform.create_app("free")
    for app, commit in ((blocked, "d" * 40), (free, "e" * 40)):
        assert platform.push(app, python_app(["web"]), commit=commit).outcome.status == "succeeded"
    engine = platform.sessions.kw["bind"]
    with advisory_lock(engine, LockKind.APPLY, blocked.id):
        waiting = platform.change_config(blocked, {"AA": "1"})
        other = platform.wait_release(platform.change_config(free, {"AA": "1"}))
        assert other.status == "succeeded"
        time.sleep(1)
        with session_scope(platform.sessions) as session:
            assert session.get_one(Release, waiting).status == "pending"
    assert platform.wait_release(waiting).status == "succeeded"


def test_an_orphaned_release_is_applied_again(platform: Platform) -> None:
    app = platform.create_app("orphan")
    with session_scope(platform.sessions) as session:
        release = Release(
            app_id=app.id,
            version=1,
            kind="config",
            description="Set A",
            build_id=None,
            config_encrypted=Cipher(platform.worker.settings.secret_key).encrypt_json({}),
            status="applying",
        )
        session.add(release)
        session.flush()
        release_id = release.id
    context = WorkerContext.from_settings(platform.worker.settings)
    sweeper = Sweeper(context, platform.worker.queue)
    with advisory_lock(context.engine, LockKind.APPLY, app.id):
        assert sweeper.recover_releases() == []  # its worker (us) is alive: left alone
    assert sweeper.recover_releases() == [release_id]
    assert sweeper.recover_releases() == []  # sent once, not again and again
    assert platform.wait_release(release_id, timeout=30).status == "succeeded"


def test_an_orphaned_build_is_built_again_then_given_up(platform: Platform) -> None:
    app = platform.create_app("rebuilt")
    key = "sources/rebuilt/f.tar.gz"
    platform.store.put_bytes(key, tarball(python_app(["web"])))
    with session_scope(platform.sessions) as session:
        build = Build(app_id=app.id, status="running", commit="f" * 40, source_key=key)
        session.add(build)
        session.flush()
        build_id, uid = build.id, build.uid
    context = WorkerContext.from_settings(platform.worker.settings)
    sweeper = Sweeper(context, platform.worker.queue)
    with advisory_lock(context.engine, LockKind.BUILD, build_id):
        assert sweeper.recover_builds() == ([], 0)  # its worker (us) is alive
    assert sweeper.recover_builds() == ([build_id], 0)
    # the pusher, still listening, hears the build again and its outcome
    deadline = time.monotonic() + 120
    for event in follow(platform.streams, uid, idle_seconds=1):
        assert time.monotonic() < deadline, platform.worker.tail()
        if event is not None and event.status is not None:
            assert event.detail == "Released v1: rebuilt-web"
    assert platform.live("rebuilt-web")["Handler"] == "web_mod.handler"

    # a build that killed its worker every time is given up, and its pusher told; the worker
    # may still hold the build's lock for a moment after its outcome (pruning old versions)
    deadline = time.monotonic() + 60
    while is_locked(context.engine, LockKind.BUILD, build_id):
        assert time.monotonic() < deadline, "the worker kept the build's lock"
        time.sleep(0.1)
    with session_scope(platform.sessions) as session:
        session.get_one(Build, build_id).status = "running"
    sweeper.rebuilt[build_id] = (BUILD_ATTEMPTS, -RESEND_SECONDS)
    assert sweeper.recover_builds() == ([], 1)
    assert _build_status(platform, build_id) == "abandoned"


def _build_status(platform: Platform, build_id: int) -> str:
    with session_scope(platform.sessions) as session:
        return session.get_one(Build, build_id).status
