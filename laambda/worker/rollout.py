"""Applying a release to AWS: the worker's half of the applier seam (services/applier.py).

Idempotent, because a task whose worker died is run again: a release already succeeded or
failed is left alone, one overtaken by a newer release is marked abandoned (the newer one
carries everything), and one left `applying` by a dead worker is simply applied again —
the deploy engine skips what AWS already has. One release per app at a time (advisory lock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from laambda.db.base import utcnow
from laambda.db.locks import LockKind, advisory_lock
from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from laambda.deploy.lambda_ import Deployer, DeployOutcome, FunctionSpec, function_name
from laambda.domain.resources import resources_for
from laambda.errors import DeployFailed
from laambda.worker.context import WorkerContext
from laambda.worker.event_sources import apply_event_sources

Log = Callable[[str], None]


@dataclass(frozen=True)
class Plan:
    """Everything the deploy needs, read in one transaction so AWS calls hold none open."""

    app: str
    region: str
    kind: str
    description: str
    sha256: str
    specs: list[FunctionSpec]
    previous: list[str] | None
    targets: dict[str, str]
    version: int
    # on a rerun after a worker died mid-move, what was live before: put back if this fails
    restore: Plan | None = None


@dataclass(frozen=True)
class Applied:
    status: str
    version: int
    functions: list[str]
    error: str | None = None


class Rollout:
    def __init__(self, context: WorkerContext) -> None:
        self.context = context

    def apply(self, release_id: int, *, log: Log | None = None) -> Applied | None:
        """Make release `release_id` live, or record why it failed; None when nothing to do."""
        with session_scope(self.context.sessions) as session:
            release = session.get(Release, release_id)
            if release is None:
                return None
            app_id = release.app_id
        with advisory_lock(self.context.engine, LockKind.APPLY, app_id):
            with session_scope(self.context.sessions) as session:
                plan = self._plan(session, release_id)
            if plan is None:
                return None
            return self._run(release_id, plan, log)

    def _run(self, release_id: int, plan: Plan, log: Log | None) -> Applied:
        lines: list[str] = []

        def emit(line: str) -> None:
            lines.append(line)
            if log is not None:
                log(line)

        deployer = self.context.deployer(plan.region, emit)
        try:
            if plan.kind == "rollback":
                outcome = deployer.rollback(
                    plan.app,
                    plan.specs,
                    targets=plan.targets,
                    sha256=plan.sha256,
                    description=plan.description,
                    previous=plan.previous,
                )
            else:
                outcome = deployer.deploy(
                    plan.app,
                    plan.specs,
                    artifact=None,
                    sha256=plan.sha256,
                    description=plan.description,
                    previous=plan.previous,
                )
        except DeployFailed as exc:
            emit(f"!      {exc.message}")
            if plan.restore is not None:
                self._put_back(deployer, plan.restore, emit)
            self._finish(release_id, "failed", lines, error=exc.message)
            return Applied("failed", plan.version, [], exc.message)
        self._finish(release_id, "succeeded", lines, outcome=outcome)
        apply_event_sources(
            self.context, release_id, plan.region, [s.name for s in plan.specs], emit
        )
        self._prune(plan, deployer.prune, emit)
        return Applied("succeeded", plan.version, sorted(outcome.versions))

    def _put_back(self, deployer: Deployer, restore: Plan, emit: Log) -> None:
        """A dead worker may have moved some aliases; return them all to the last good release."""
        try:
            deployer.rollback(
                restore.app,
                restore.specs,
                targets=restore.targets,
                sha256=restore.sha256,
                description=restore.description,
                previous=restore.previous,
            )
            emit(f"       live is back on v{restore.version} everywhere")
        except DeployFailed as exc:
            emit(f"!      putting v{restore.version} back failed too: {exc.message}")

    def _plan(self, session: Session, release_id: int) -> Plan | None:
        release = session.get(Release, release_id)
        if release is None or release.status in ("succeeded", "failed"):
            return None
        newer = session.scalar(
            select(Release.version)
            .where(
                Release.app_id == release.app_id,
                Release.version > release.version,
                Release.status != "failed",
            )
            .order_by(Release.version.desc())
            .limit(1)
        )
        if newer is not None:
            release.status = "abandoned"
            release.error = f"superseded by v{newer} before it was applied"
            return None
        session.execute(
            update(Release)
            .where(Release.app_id == release.app_id, Release.status == "applying")
            .where(Release.id != release.id)
            .values(status="abandoned", error="its worker died while applying it")
        )
        app = session.get_one(App, release.app_id)
        build = session.get(Build, release.build_id) if release.build_id else None
        if build is None or not build.artifact_sha256 or not build.procfile:
            release.status = "succeeded"
            release.applied_at = utcnow()
            release.log = "no build yet: recorded; the next push deploys it\n"
            return None
        rerun = release.status in ("applying", "abandoned")
        release.status = "applying"
        config = self.context.cipher.decrypt_json(release.config_encrypted)
        specs = _specs(app, build, release.function_settings, config)
        last = self._last_live(session, release)
        restore = self._restore_plan(session, app, last, specs) if rerun and last else None
        return Plan(
            app=app.name,
            region=app.region,
            kind=release.kind,
            description=f"{app.name} v{release.version}: {release.description}"[:256],
            sha256=build.artifact_sha256,
            specs=specs,
            previous=sorted(last.function_versions or {}) if last is not None else None,
            targets=self._targets(session, release),
            version=release.version,
            restore=restore,
        )

    def _last_live(self, session: Session, release: Release) -> Release | None:
        """The newest release before this one that went live: its functions are what runs."""
        return session.scalar(
            select(Release)
            .where(
                Release.app_id == release.app_id,
                Release.version < release.version,
                Release.status == "succeeded",
                Release.function_versions.is_not(None),
            )
            .order_by(Release.version.desc())
            .limit(1)
        )

    def _restore_plan(
        self, session: Session, app: App, last: Release, specs: list[FunctionSpec]
    ) -> Plan | None:
        """A rollback to `last`, the release that was live before this one."""
        build = session.get(Build, last.build_id) if last.build_id else None
        if build is None or not build.artifact_sha256:
            return None
        config = self.context.cipher.decrypt_json(last.config_encrypted)
        return Plan(
            app=app.name,
            region=app.region,
            kind="rollback",
            description=f"{app.name} v{last.version}: put back",
            sha256=build.artifact_sha256,
            specs=_specs(app, build, last.function_settings, config),
            previous=[function_name(app.name, spec.name) for spec in specs],
            targets={name: str(v) for name, v in (last.function_versions or {}).items()},
            version=last.version,
        )

    def _targets(self, session: Session, release: Release) -> dict[str, str]:
        if release.kind != "rollback" or release.rollback_of is None:
            return {}
        versions = session.scalar(
            select(Release.function_versions).where(
                Release.app_id == release.app_id, Release.version == release.rollback_of
            )
        )
        return {name: str(version) for name, version in (versions or {}).items()}

    def _finish(
        self,
        release_id: int,
        status: str,
        lines: list[str],
        *,
        outcome: DeployOutcome | None = None,
        error: str | None = None,
    ) -> None:
        with session_scope(self.context.sessions) as session:
            release = session.get_one(Release, release_id)
            release.status = status
            release.error = error
            release.log = (release.log or "") + "".join(f"{line}\n" for line in lines)
            release.applied_at = utcnow()
            if outcome is not None:
                release.function_versions = dict(outcome.versions)

    def _prune(self, plan: Plan, prune: Callable[[dict[str, set[str]]], Any], emit: Log) -> None:
        """Delete Lambda versions no retained release refers to (code storage is finite)."""
        keep: dict[str, set[str]] = {spec_name: set() for spec_name in _names(plan)}
        with session_scope(self.context.sessions) as session:
            app_id = session.scalar(select(App.id).where(App.name == plan.app))
            retained = session.scalars(
                select(Release.function_versions)
                .where(Release.app_id == app_id, Release.status == "succeeded")
                .where(Release.function_versions.is_not(None))
                .order_by(Release.version.desc())
                .limit(self.context.settings.retained_releases)
            ).all()
        for versions in retained:
            for name, version in (versions or {}).items():
                if name in keep:
                    keep[name].add(str(version))
        try:
            prune(keep)
        except DeployFailed as exc:
            emit(f"       pruning old versions failed (will retry next release): {exc.message}")


def _names(plan: Plan) -> list[str]:
    return [function_name(plan.app, spec.name) for spec in plan.specs]


def _specs(
    app: App, build: Build, settings: dict[str, Any], config: dict[str, str]
) -> list[FunctionSpec]:
    specs = []
    for name, handler in (build.procfile or {}).items():
        resources = resources_for(name, settings)
        specs.append(
            FunctionSpec(
                name=name,
                handler=str(handler),
                runtime=build.runtime or "",
                architecture=build.architecture or app.architecture or "x86_64",
                role=app.role_arn,
                memory=resources.memory,
                timeout=resources.timeout,
                environment=dict(config),
            )
        )
    return specs
