"""One release at a time per app; what a dead worker left running is marked abandoned."""

from __future__ import annotations

import time

from laambda.db.locks import LockKind, advisory_lock
from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from laambda.worker.context import WorkerContext
from laambda.worker.sweep import sweep_abandoned
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


def test_orphans_are_marked_abandoned(platform: Platform) -> None:
    app = platform.create_app("orphan")
    with session_scope(platform.sessions) as session:
        build = Build(app_id=app.id, status="running", commit="f" * 40, source_key="x")
        session.add(build)
        session.flush()
        release = Release(
            app_id=app.id,
            version=1,
            kind="deploy",
            description="Deploy fffffff",
            build_id=build.id,
            config_encrypted=b"",
            status="applying",
        )
        session.add(release)
        session.flush()
        build_id, release_id = build.id, release.id
    context = WorkerContext.from_settings(platform.worker.settings)
    with advisory_lock(context.engine, LockKind.APPLY, app.id):
        assert sweep_abandoned(context) == (1, 0)  # the release's worker (us) is alive
    assert sweep_abandoned(context) == (0, 1)
    with session_scope(platform.sessions) as session:
        assert session.get_one(Build, build_id).status == "abandoned"
        assert session.get_one(Release, release_id).status == "abandoned"
        assert session.get_one(App, app.id).name == "orphan"
