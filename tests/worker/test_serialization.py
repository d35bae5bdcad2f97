"""One release at a time per app; what a dead worker left is found: builds are marked
abandoned, releases are applied again."""

from __future__ import annotations

import time

from laambda.crypto import Cipher
from laambda.db.locks import LockKind, advisory_lock
from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from laambda.worker.context import WorkerContext
from laambda.worker.sweep import Sweeper
from tests.worker.conftest import Platform, python_app


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


def test_orphans_are_found(platform: Platform) -> None:
    app = platform.create_app("orphan")
    with session_scope(platform.sessions) as session:
        build = Build(app_id=app.id, status="running", commit="f" * 40, source_key="x")
        session.add(build)
        session.flush()
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
        build_id, release_id = build.id, release.id
    context = WorkerContext.from_settings(platform.worker.settings)
    sweeper = Sweeper(context, platform.worker.queue)
    with advisory_lock(context.engine, LockKind.APPLY, app.id):
        # the release's worker (us) is alive: it is left alone
        assert (sweeper.abandon_builds(), sweeper.recover_releases()) == (1, [])
    assert (sweeper.abandon_builds(), sweeper.recover_releases()) == (0, [release_id])
    assert sweeper.recover_releases() == []  # sent once, not again and again
    assert platform.wait_release(release_id, timeout=30).status == "succeeded"
    with session_scope(platform.sessions) as session:
        assert session.get_one(Build, build_id).status == "abandoned"
        assert session.get_one(App, app.id).name == "orphan"
