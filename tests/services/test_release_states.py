"""Release states change only in release_service; a build that changes nothing makes none."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from laambda.crypto import Cipher
from laambda.db.models import App, Build, ConfigVar, FunctionSetting, Release
from laambda.domain.status import ReleaseStatus
from laambda.services.release import release_service
from tests.support import factories

CIPHER = Cipher("test-secret-key-that-is-long-enough-0123456789")


class _Later:
    def apply(self, release_id: int) -> None:
        pass


@pytest.fixture
def app(db: Session) -> App:
    made = factories.app()
    db.flush()
    return made


def _deploy(db: Session, app: App, build: Build, status: ReleaseStatus) -> Release:
    release = release_service.deploy(db, app, build, user=None, cipher=CIPHER, applier=_Later())
    release.status = status
    db.flush()
    return release


def _same_tree(db: Session, app: App, build: Build) -> Build:
    again = factories.build(
        app_id=app.id,
        artifact_sha256=build.artifact_sha256,
        procfile=dict(build.procfile or {}),
    )
    db.flush()
    return again


class TestUnchanged:
    def test_the_same_tree_again_changes_nothing(self, db: Session, app: App) -> None:
        first = factories.build(app_id=app.id)
        live = _deploy(db, app, first, ReleaseStatus.SUCCEEDED)

        assert release_service.unchanged(db, app, _same_tree(db, app, first), CIPHER) == live

    def test_other_code_a_procfile_config_or_memory_change_something(
        self, db: Session, app: App
    ) -> None:
        first = factories.build(app_id=app.id)
        _deploy(db, app, first, ReleaseStatus.SUCCEEDED)

        other = factories.build(app_id=app.id)  # another artifact
        entry = _same_tree(db, app, first)
        entry.procfile = {"create": "CreateThumbnail.other"}
        assert release_service.unchanged(db, app, other, CIPHER) is None
        assert release_service.unchanged(db, app, entry, CIPHER) is None

        same = _same_tree(db, app, first)
        db.add(ConfigVar(app_id=app.id, key="BUCKET", value_encrypted=CIPHER.encrypt("x")))
        db.flush()
        assert release_service.unchanged(db, app, same, CIPHER) is None
        db.query(ConfigVar).delete()
        db.add(FunctionSetting(app_id=app.id, name="create", memory=2048, timeout=10))
        db.flush()
        assert release_service.unchanged(db, app, same, CIPHER) is None

    def test_after_a_failed_release_the_live_one_is_compared(self, db: Session, app: App) -> None:
        first = factories.build(app_id=app.id)
        _deploy(db, app, first, ReleaseStatus.SUCCEEDED)
        second = factories.build(app_id=app.id)
        _deploy(db, app, second, ReleaseStatus.FAILED)

        # the failed tree again: not what is live, so it deploys
        assert release_service.unchanged(db, app, _same_tree(db, app, second), CIPHER) is None

    def test_while_a_release_is_unfinished_a_push_deploys(self, db: Session, app: App) -> None:
        first = factories.build(app_id=app.id)
        _deploy(db, app, first, ReleaseStatus.APPLYING)

        assert release_service.unchanged(db, app, _same_tree(db, app, first), CIPHER) is None


class TestTransitions:
    def test_begin_says_when_a_dead_worker_left_it_applying(self, db: Session, app: App) -> None:
        build = factories.build(app_id=app.id)
        older = _deploy(db, app, build, ReleaseStatus.APPLYING)
        release = _deploy(db, app, build, ReleaseStatus.PENDING)

        assert release_service.begin(db, release) is False
        assert release_service.begin(db, release) is True  # a rerun
        db.refresh(older)
        assert (older.status, older.error) == (
            ReleaseStatus.ABANDONED,
            f"superseded by v{release.version} before it was applied",
        )

    def test_put_back_says_which_release_is_live(self, db: Session, app: App) -> None:
        release = _deploy(db, app, factories.build(app_id=app.id), ReleaseStatus.APPLYING)

        release_service.put_back(
            db, release, error="fn: role refused", restored=4, log=["live is back"]
        )

        assert release.status == ReleaseStatus.FAILED
        assert release.error == "fn: role refused; live is back on v4"
        assert release.log.endswith("live is back\n")
        assert release.applied_at is not None

    def test_succeed_records_the_versions_that_are_live(self, db: Session, app: App) -> None:
        release = _deploy(db, app, factories.build(app_id=app.id), ReleaseStatus.APPLYING)

        release_service.succeed(db, release, versions={"app-create": "3"}, log=[])

        assert (release.status, release.function_versions) == (
            ReleaseStatus.SUCCEEDED,
            {"app-create": "3"},
        )
        assert release_service.current(db, app) == release
