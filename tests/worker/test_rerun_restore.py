"""A release rerun after its worker died mid-move, which then fails, puts back what was live."""

from __future__ import annotations

from sqlalchemy import select

from laambda.crypto import Cipher
from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from laambda.services.release import release_service
from laambda.worker.context import WorkerContext
from laambda.worker.rollout import Rollout
from tests.support.platform import Platform, python_app


class _Later:
    """Records the release without applying it: the test plays the dead worker itself."""

    def apply(self, release_id: int) -> None:
        pass


def test_failed_rerun_moves_half_moved_aliases_back(platform: Platform) -> None:
    app = platform.create_app("rerun")
    assert platform.push(app, python_app(["a", "b"]), commit="6" * 40).outcome.status == "succeeded"
    good = {name: platform.live(name)["Version"] for name in ("rerun-a", "rerun-b")}
    with session_scope(platform.sessions) as session:
        session.get_one(App, app.id).role_arn = "arn:aws:iam::123456789012:role/missing"
    failed = platform.push(app, python_app(["a", "b", "c"], marker="2"), commit="7" * 40)
    assert failed.outcome.status == "failed"

    # v3 deploys the same (a, b, c) build; a worker "died" after moving a's alias only
    with session_scope(platform.sessions) as session:
        locked = session.get_one(App, app.id, with_for_update=True)
        build = session.scalars(select(Build).where(Build.commit == "7" * 40)).one()
        release = release_service.deploy(
            session,
            locked,
            build,
            user=platform.user,
            cipher=Cipher(platform.worker.settings.secret_key),
            applier=_Later(),
        )
        release.status = "applying"
        release_id = release.id
    client = platform.lambda_client
    stray = client.publish_version(FunctionName="rerun-a")["Version"]
    client.update_alias(FunctionName="rerun-a", Name="live", FunctionVersion=stray)
    assert platform.live("rerun-a")["Version"] != good["rerun-a"]

    applied = Rollout(WorkerContext.from_settings(platform.worker.settings)).apply(release_id)
    assert applied is not None
    assert applied.status == "failed"
    assert {name: platform.live(name)["Version"] for name in good} == good
    with session_scope(platform.sessions) as session:
        log = session.get_one(Release, release_id).log
    assert "live is back on v1 everywhere" in log
