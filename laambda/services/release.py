"""Releases: numbered without gaps per app, immutable, and handed to the applier after commit.

Callers lock the app row first (`app_service.get_for(..., lock=True)`), so concurrent changes
to one app are serialized and each sees the previous one's config and version.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from laambda.crypto import Cipher
from laambda.db.models import App, Build, ConfigVar, FunctionSetting, Release, User
from laambda.db.session import after_commit
from laambda.domain.release import (
    ReleaseSummary,
    RollbackProblem,
    deploy_description,
    rollback_description,
    rollback_target,
)
from laambda.errors import ReleaseNotFound, RollbackRefused
from laambda.services.applier import ReleaseApplier
from laambda.services.audit import audit


class ReleaseService:
    def list(
        self, session: Session, app: App, *, limit: int = 20, offset: int = 0
    ) -> list[Release]:
        query = (
            select(Release)
            .where(Release.app_id == app.id)
            .order_by(Release.version.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(session.scalars(query))

    def get(self, session: Session, app: App, version: int) -> Release:
        query = select(Release).where(Release.app_id == app.id, Release.version == version)
        release = session.scalar(query)
        if release is None:
            raise ReleaseNotFound(f"app '{app.name}' has no release v{version}")
        return release

    def current(self, session: Session, app: App) -> Release | None:
        """The release that runs: the newest one that did not fail."""
        query = (
            select(Release)
            .where(
                Release.app_id == app.id, Release.status.in_(("pending", "applying", "succeeded"))
            )
            .order_by(Release.version.desc())
            .limit(1)
        )
        return session.scalar(query)

    def current_build(self, session: Session, app: App) -> Build | None:
        release = self.current(session, app)
        if release is None or release.build_id is None:
            return None
        return session.get(Build, release.build_id)

    def create(
        self,
        session: Session,
        app: App,
        *,
        user: User | None,
        kind: str,
        description: str,
        build_id: int | None,
        config: dict[str, str],
        cipher: Cipher,
        applier: ReleaseApplier,
        rollback_of: int | None = None,
    ) -> Release:
        """Record the next release of a locked app and hand it to the applier after commit."""
        last = session.scalar(select(func.max(Release.version)).where(Release.app_id == app.id))
        release = Release(
            app_id=app.id,
            version=(last or 0) + 1,
            kind=kind,
            description=description,
            build_id=build_id,
            user_id=user.id if user else None,
            config_encrypted=cipher.encrypt_json(config),
            function_settings=self.settings_snapshot(session, app),
            rollback_of=rollback_of,
            status="pending",
        )
        session.add(release)
        session.flush()
        audit.record(
            session,
            user,
            action=f"release.{kind}",
            app=app.name,
            version=release.version,
            description=description,
        )
        release_id = release.id
        after_commit(session, lambda: applier.apply(release_id))
        return release

    def deploy(
        self,
        session: Session,
        app: App,
        build: Build,
        *,
        user: User | None,
        cipher: Cipher,
        applier: ReleaseApplier,
    ) -> Release:
        """The release of a successful build, with the app's current config and settings."""
        return self.create(
            session,
            app,
            user=user,
            kind="deploy",
            description=deploy_description(build.commit),
            build_id=build.id,
            config=self.config(session, app, cipher),
            cipher=cipher,
            applier=applier,
        )

    def rollback(
        self,
        session: Session,
        app: App,
        *,
        user: User,
        version: int | None,
        cipher: Cipher,
        applier: ReleaseApplier,
    ) -> Release:
        """v(N+1) with vK's build, config and function settings (Heroku's rollback)."""
        summaries = [
            ReleaseSummary(r.version, r.status, r.build_id is not None, r.error)
            for r in session.execute(
                select(Release.version, Release.status, Release.build_id, Release.error).where(
                    Release.app_id == app.id
                )
            ).all()
        ]
        try:
            target_version = rollback_target(summaries, version)
        except RollbackProblem as exc:
            raise RollbackRefused(f"cannot roll back '{app.name}': {exc}") from None
        target = self.get(session, app, target_version)
        config: dict[str, str] = cipher.decrypt_json(target.config_encrypted)
        self._restore(session, app, config, target.function_settings, cipher)
        return self.create(
            session,
            app,
            user=user,
            kind="rollback",
            description=rollback_description(target_version),
            build_id=target.build_id,
            config=config,
            cipher=cipher,
            applier=applier,
            rollback_of=target_version,
        )

    def config(self, session: Session, app: App, cipher: Cipher) -> dict[str, str]:
        rows = session.scalars(select(ConfigVar).where(ConfigVar.app_id == app.id))
        return {row.key: cipher.decrypt(row.value_encrypted) for row in rows}

    def settings_snapshot(self, session: Session, app: App) -> dict[str, Any]:
        rows = session.scalars(select(FunctionSetting).where(FunctionSetting.app_id == app.id))
        return {row.name: {"memory": row.memory, "timeout": row.timeout} for row in rows}

    def _restore(
        self,
        session: Session,
        app: App,
        config: dict[str, str],
        settings: dict[str, Any],
        cipher: Cipher,
    ) -> None:
        """Make the app's current config and settings those of a release being returned to."""
        session.execute(delete(ConfigVar).where(ConfigVar.app_id == app.id))
        session.execute(delete(FunctionSetting).where(FunctionSetting.app_id == app.id))
        session.add_all(
            ConfigVar(app_id=app.id, key=key, value_encrypted=cipher.encrypt(value))
            for key, value in config.items()
        )
        session.add_all(
            FunctionSetting(app_id=app.id, name=name, memory=s["memory"], timeout=s["timeout"])
            for name, s in settings.items()
        )
        session.flush()


release_service = ReleaseService()
