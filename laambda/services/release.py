"""Releases: numbered without gaps per app, immutable, and handed to the applier after commit.

Callers lock the app row first (`app_service.get_for(..., lock=True)`), so concurrent changes
to one app are serialized and each sees the previous one's config and version. Every change
of a release's ReleaseStatus is made here; the worker (worker/rollout.py) only decides when.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from laambda.crypto import Cipher
from laambda.db.base import utcnow
from laambda.db.models import App, Build, ConfigVar, FunctionSetting, Release, User
from laambda.db.session import after_commit
from laambda.domain.release import (
    ReleaseSummary,
    RollbackProblem,
    Runs,
    deploy_description,
    nothing_changed,
    rollback_description,
    rollback_target,
)
from laambda.domain.status import ReleaseStatus
from laambda.errors import ReleaseNotFound, RollbackRefused
from laambda.services.audit import audit
from laambda.services.strategy import strategy_service

if TYPE_CHECKING:
    from laambda.services.applier import ReleaseApplier


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
            .where(Release.app_id == app.id, Release.status.in_(ReleaseStatus.CURRENT))
            .order_by(Release.version.desc())
            .limit(1)
        )
        return session.scalar(query)

    def lock(self, session: Session, release_id: int) -> Release:
        """The release by id with its row locked until the transaction ends (a canary's
        decision and a request to end it take this lock, so the first one wins)."""
        return session.get_one(Release, release_id, with_for_update=True)

    def current_build(self, session: Session, app: App) -> Build | None:
        release = self.current(session, app)
        if release is None or release.build_id is None:
            return None
        return session.get(Build, release.build_id)

    def current_entries(self, session: Session, app: App) -> Sequence[str]:
        """The Procfile entries of the live release's build, in Procfile order (the release
        phase's included); [] before the first build is released."""
        build = self.current_build(session, app)
        return [*(build.procfile or {})] if build is not None else []

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
        settings: dict[str, Any] | None = None,
        rollback_of: int | None = None,
        release_phase: bool = True,
    ) -> Release:
        """Record the next release of a locked app and hand it to the applier after commit.

        `config` and `settings` (function settings, default: the app's working ones) become
        the app's working config and settings, the ones `config` shows and the next release
        starts from, until a failure undoes them (see `config`). `release_phase` says
        whether the Procfile's `release` entry runs before it goes live."""
        settings = self.settings_snapshot(session, app) if settings is None else settings
        self._store_working(session, app, config, settings, cipher)
        last = session.scalar(select(func.max(Release.version)).where(Release.app_id == app.id))
        release = Release(
            app_id=app.id,
            version=(last or 0) + 1,
            kind=kind,
            description=description,
            build_id=build_id,
            user_id=user.id if user else None,
            config_encrypted=cipher.encrypt_json(config),
            function_settings=settings,
            rollback_of=rollback_of,
            release_phase=release_phase,
            status=ReleaseStatus.PENDING,
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
        """The release of a successful build, with the app's current config and settings.

        See `unchanged` first: a build that changes nothing should make no release.
        """
        return self.create(
            session,
            app,
            user=user,
            kind="deploy",
            description=deploy_description(build.commit, build.commit_label),
            build_id=build.id,
            config=self.config(session, app, cipher),
            cipher=cipher,
            applier=applier,
        )

    def unchanged(self, session: Session, app: App, build: Build, cipher: Cipher) -> Release | None:
        """The live release when deploying `build` now would change nothing in Lambda (same
        artifact, Procfile, config and function settings), else None. Only a release that
        went live counts: after a failed or unfinished one, a push deploys."""
        live = self.current(session, app)
        if live is None or live.status != ReleaseStatus.SUCCEEDED or live.build_id is None:
            return None
        running = session.get(Build, live.build_id)
        if running is None:
            return None
        before = Runs(
            sha256=running.artifact_sha256,
            runtime=running.runtime,
            architecture=running.architecture,
            procfile=running.procfile or {},
            config=cipher.decrypt_json(live.config_encrypted),
            settings=live.function_settings or {},
        )
        pushed = Runs(
            sha256=build.artifact_sha256,
            runtime=build.runtime,
            architecture=build.architecture,
            procfile=build.procfile or {},
            config=self.config(session, app, cipher),
            settings=self.settings_snapshot(session, app),
        )
        return live if nothing_changed(before, pushed) else None

    # What the worker reads to apply a release.

    def newer(self, session: Session, release: Release) -> int | None:
        """The newest later release that may still go live (it carries everything)."""
        return session.scalar(
            select(Release.version)
            .where(Release.app_id == release.app_id, Release.version > release.version)
            .where(Release.status.in_(ReleaseStatus.CURRENT))
            .order_by(Release.version.desc())
            .limit(1)
        )

    def last_live(self, session: Session, release: Release) -> Release | None:
        """The newest release before this one that went live: its functions are what runs."""
        return session.scalar(
            select(Release)
            .where(Release.app_id == release.app_id, Release.version < release.version)
            .where(Release.status == ReleaseStatus.SUCCEEDED)
            .where(Release.function_versions.is_not(None))
            .order_by(Release.version.desc())
            .limit(1)
        )

    def rollback_targets(self, session: Session, release: Release) -> dict[str, str]:
        """For a rollback, the Lambda versions its target release ran (function -> version)."""
        if release.kind != "rollback" or release.rollback_of is None:
            return {}
        versions = session.scalar(
            select(Release.function_versions).where(
                Release.app_id == release.app_id, Release.version == release.rollback_of
            )
        )
        return {name: str(version) for name, version in (versions or {}).items()}

    def retained_versions(
        self, session: Session, app_id: int, *, keep: int
    ) -> Sequence[dict[str, Any]]:
        """The function versions of the app's `keep` newest live releases (never pruned)."""
        rows = session.scalars(
            select(Release.function_versions)
            .where(Release.app_id == app_id, Release.status == ReleaseStatus.SUCCEEDED)
            .where(Release.function_versions.is_not(None))
            .order_by(Release.version.desc())
            .limit(keep)
        )
        return [dict(row or {}) for row in rows]

    def of_build(self, session: Session, build: Build) -> Release | None:
        """The deploy release a build made, if it made one."""
        return session.scalar(
            select(Release)
            .where(Release.build_id == build.id, Release.kind == "deploy")
            .order_by(Release.version.desc())
            .limit(1)
        )

    def unfinished(self, session: Session) -> Sequence[Release]:
        """Releases of every app still pending, applying or in a canary, oldest first."""
        query = (
            select(Release).where(Release.status.in_(ReleaseStatus.UNFINISHED)).order_by(Release.id)
        )
        return list(session.scalars(query))

    # Transitions of a release being applied (worker/rollout.py decides when).

    def begin(self, session: Session, release: Release) -> bool:
        """pending -> applying, under the app's apply lock; True when the release was left
        applying by a worker that died (so `live` may be half-moved)."""
        rerun = release.status == ReleaseStatus.APPLYING
        release.status = ReleaseStatus.APPLYING
        # an older release left applying has been overtaken: this one carries everything
        session.execute(
            update(Release)
            .where(Release.app_id == release.app_id, Release.status == ReleaseStatus.APPLYING)
            .where(Release.id != release.id)
            .values(
                status=ReleaseStatus.ABANDONED,
                error=f"superseded by v{release.version} before it was applied",
                superseded_by=release.version,
            )
        )
        session.flush()
        return rerun

    def supersede(self, session: Session, release: Release, *, newer: int) -> None:
        """A newer release exists that carries everything: this one is never applied."""
        release.status = ReleaseStatus.ABANDONED
        release.error = f"superseded by v{newer} before it was applied"
        release.superseded_by = newer
        session.flush()

    def record(self, session: Session, release: Release, *, note: str) -> None:
        """Nothing to deploy (no build yet, or no AWS to deploy to): recorded as live."""
        release.status = ReleaseStatus.SUCCEEDED
        release.applied_at = utcnow()
        release.log = f"{note}\n"
        session.flush()

    def succeed(
        self,
        session: Session,
        release: Release,
        *,
        versions: Mapping[str, str],
        log: Sequence[str],
    ) -> None:
        """Every `live` alias of the app is on `versions` (function name -> Lambda version)."""
        release.status = ReleaseStatus.SUCCEEDED
        release.error = None
        release.function_versions = dict(versions)
        self._applied(session, release, log)

    def start_canary(
        self,
        session: Session,
        release: Release,
        *,
        versions: Mapping[str, str],
        previous: Mapping[str, str | None],
        percent: int,
        seconds: int,
        max_errors: int,
        log: Sequence[str],
    ) -> None:
        """applying -> canary: `live` of the functions in `previous` sends `percent` % of
        traffic to `versions` (function -> new version) and the rest to `previous` (function
        -> the last live release's version; None for a function new in this release, fully on
        its new version) until `seconds` from now."""
        now = utcnow()
        release.status = ReleaseStatus.CANARY
        release.canary_versions = dict(versions)
        release.canary_previous = dict(previous)
        release.canary_percent = percent
        release.canary_max_errors = max_errors
        release.canary_started_at = now
        release.canary_ends_at = now + timedelta(seconds=seconds)
        self.add_log(session, release, log)

    def decide_canary(
        self, session: Session, release: Release, *, app: str, decision: str, reason: str
    ) -> None:
        """The platform's own decision on a canary (window over, or too many errors), in the
        activity trail, recorded before any alias moves so that a worker resuming the canary
        carries out the same one."""
        release.canary_decision = decision
        release.canary_reason = reason
        audit.record(
            session,
            None,
            action=f"release.canary_{decision}",
            app=app,
            version=release.version,
            reason=reason,
        )
        session.flush()

    def fail(self, session: Session, release: Release, *, error: str, log: Sequence[str]) -> None:
        """Nothing of it is live: every alias is where it was before."""
        release.status = ReleaseStatus.FAILED
        release.error = error
        self._applied(session, release, log)

    def put_back(
        self,
        session: Session,
        release: Release,
        *,
        error: str,
        restored: int,
        log: Sequence[str],
    ) -> None:
        """A release whose worker died mid-move and which then failed: every alias was put
        back on release v`restored`, which is the app's current release again."""
        self.fail(session, release, error=f"{error}; live is back on v{restored}", log=log)

    def reapply(self, session: Session, release: Release) -> None:
        """succeeded -> applying: the live release is applied again to a cloud that lost it
        (a fresh local cloud), as a release left applying by a dead worker is."""
        release.status = ReleaseStatus.APPLYING
        session.flush()

    def keep_live(self, session: Session, release: Release) -> str | None:
        """Back to succeeded after applying it again failed: it stays the live release (it
        was live; the cloud refusing it again does not fail it). Returns the error cleared."""
        error = release.error
        release.status, release.error = ReleaseStatus.SUCCEEDED, None
        session.flush()
        return error

    def add_log(self, session: Session, release: Release, log: Sequence[str]) -> None:
        release.log = (release.log or "") + "".join(f"{line}\n" for line in log)
        session.flush()

    def _applied(self, session: Session, release: Release, log: Sequence[str]) -> None:
        release.applied_at = utcnow()
        self.add_log(session, release, log)

    def rollback(
        self,
        session: Session,
        app: App,
        *,
        user: User,
        version: int | None,
        cipher: Cipher,
        applier: ReleaseApplier,
        run_release_phase: bool = False,
    ) -> Release:
        """v(N+1) with vK's build, config and function settings (Heroku's rollback); the
        release phase runs only when asked, as on Heroku."""
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
        # never through the canary's versions fully live: the canary goes back first
        strategy_service.abort_for_rollback(session, app, target=target_version, user=user)
        return self.create(
            session,
            app,
            user=user,
            kind="rollback",
            description=rollback_description(target_version),
            build_id=target.build_id,
            config=cipher.decrypt_json(target.config_encrypted),
            settings=dict(target.function_settings or {}),
            cipher=cipher,
            applier=applier,
            rollback_of=target_version,
            release_phase=run_release_phase,
        )

    # The working config and function settings: what the app's next release starts from.

    def config(self, session: Session, app: App, cipher: Cipher) -> dict[str, str]:
        """The app's working config vars (key -> value), which `laambda config` shows and
        the next release starts from: the stored ones, which the newest release wrote, or,
        when that release failed, the live release's (`undone`). Before any release, the
        ones the app was made with (a review app's)."""
        undone = self.undone(session, app)
        if undone is not None:
            return dict(cipher.decrypt_json(undone.config_encrypted))
        rows = session.scalars(select(ConfigVar).where(ConfigVar.app_id == app.id))
        return {row.key: cipher.decrypt(row.value_encrypted) for row in rows}

    def settings_snapshot(self, session: Session, app: App) -> dict[str, Any]:
        """The app's working function settings (entry -> {"memory": MB, "timeout": s}), as
        `config` chooses them; entries left at the defaults are absent."""
        undone = self.undone(session, app)
        if undone is not None:
            return dict(undone.function_settings or {})
        rows = session.scalars(select(FunctionSetting).where(FunctionSetting.app_id == app.id))
        return {row.name: {"memory": row.memory, "timeout": row.timeout} for row in rows}

    def undone(self, session: Session, app: App) -> Release | None:
        """When the app's newest release failed, the release whose config and settings are
        the app's again: the live one (the newest that did not fail). None when the newest
        release did not fail, or none ever went live (the config the app was made with).

        Config and resource changes are releases, so a change whose release failed (its
        gate, its deploy, its canary, a rollback's move) is not kept: it would otherwise
        go live with the next, unrelated release. Only the newest counts: a release made
        after the failed one was made from the config `config` showed then, and carries it.
        Derived at each read rather than written when the release fails (`fail` has no
        cipher to encrypt the values again; every change reads it under the app's lock), and
        stored by the next release (`create`)."""
        newest = session.scalar(
            select(Release.status)
            .where(Release.app_id == app.id)
            .order_by(Release.version.desc())
            .limit(1)
        )
        if newest is None or newest in ReleaseStatus.CURRENT:
            return None
        return self.current(session, app)

    def _store_working(
        self,
        session: Session,
        app: App,
        config: Mapping[str, str],
        settings: Mapping[str, Any],
        cipher: Cipher,
    ) -> None:
        """Make the app's stored working config and settings these (a new release's)."""
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
