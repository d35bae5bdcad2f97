"""Builds: what the API shows, and every change of a build's state.

The worker runs builds (worker/build_runner.py) but moves a Build from one BuildStatus to the
next only through this service, so each transition is written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.db.base import utcnow
from laambda.db.models import App, Build, Release, User
from laambda.db.session import after_commit
from laambda.domain.function import architecture_or_default
from laambda.domain.status import BuildStatus
from laambda.errors import BuildNotFound, Conflict
from laambda.services.audit import audit


class BuildQueue(Protocol):
    def build(self, build_id: int) -> None:
        """Start building the committed build `build_id` (the worker's `build.run`)."""


class BuildService:
    def list(self, session: Session, app: App, *, limit: int = 20, offset: int = 0) -> list[Build]:
        query = (
            select(Build)
            .where(Build.app_id == app.id)
            .order_by(Build.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(session.scalars(query))

    def latest(self, session: Session, app: App) -> Build | None:
        """The app's newest build, whatever its status; None before its first."""
        return next(iter(self.list(session, app, limit=1)), None)

    def get(self, session: Session, app: App, build_id: int) -> Build:
        build = session.get(Build, build_id)
        if build is None or build.app_id != app.id:
            raise BuildNotFound(f"app '{app.name}' has no build {build_id}")
        return build

    def create(
        self,
        session: Session,
        app: App,
        *,
        user: User | None,
        commit: str | None,
        source_key: str,
        queue: BuildQueue,
        origin: str = "push",
        token: str | None = None,
        label: str | None = None,
    ) -> Build:
        """Record a source and queue its build once the transaction commits; `origin` says how
        the source came ("push" over git, "upload" through the API) and `commit` may be None
        for an upload from outside a git repository, or whose commit `label` could not be
        verified (laambda/services/upload_commit.py). `token` names the deploy token that
        uploaded it, for the activity trail."""
        build = Build(
            app_id=app.id,
            user_id=user.id if user else None,
            status=BuildStatus.PENDING,
            commit=commit,
            commit_label=label,
            source_key=source_key,
            architecture=architecture_or_default(app.architecture),
            origin=origin,
        )
        session.add(build)
        session.flush()
        detail = {"origin": origin} if origin != "push" else {}
        detail |= {"token": token} if token is not None else {}
        detail |= {"unverified_commit": label} if label is not None else {}
        audit.record(session, user, action="build.create", app=app.name, commit=commit, **detail)
        build_id = build.id
        after_commit(session, lambda: queue.build(build_id))
        return build

    def record_unchanged(
        self,
        session: Session,
        app: App,
        *,
        user: User | None,
        commit: str,
        running: Build,
        log: Sequence[str],
    ) -> Build:
        """A push whose tree is the live build's (an empty commit, or a commit that restores
        that tree): recorded as a build that succeeded with the live build's artifact and
        made no release, as a build that changed nothing is (`same_code_since`), without
        building or queueing anything. Its commit is what the deploy branch shows."""
        build = Build(
            app_id=app.id,
            user_id=user.id if user else None,
            status=BuildStatus.SUCCEEDED,
            commit=commit,
            source_key=running.source_key,  # the same tree: the same source
            architecture=running.architecture,
            origin="push",
            started_at=utcnow(),
        )
        session.add(build)
        self.succeed(
            session,
            build,
            sha256=running.artifact_sha256 or "",
            key=running.artifact_key or "",
            size=running.artifact_size or 0,
            runtime=running.runtime or "",
            architecture=architecture_or_default(running.architecture),
            procfile=dict(running.procfile or {}),
            log=log,
        )
        session.flush()
        audit.record(
            session, user, action="build.create", app=app.name, commit=commit, unchanged=True
        )
        return build

    def cancel(self, session: Session, build: Build, *, user: User) -> Build:
        """Pending builds end here; running ones are stopped by their worker (it watches)."""
        if build.status not in (BuildStatus.PENDING, BuildStatus.RUNNING):
            raise Conflict(
                f"build {build.id} is {build.status}; only a running build can be cancelled"
            )
        if build.status == BuildStatus.PENDING:
            build.status = BuildStatus.CANCELLED
            build.error = "cancelled before it started"
        audit.record(session, user, action="build.cancel", build=build.id)
        session.flush()
        return build

    def promoted(self, session: Session, app: App, source: Build, *, user: User | None) -> Build:
        """A build of `app` that built nothing: the artifact of `source`, an upstream app's
        succeeded build, recorded with origin "promotion" and `promoted_from` its id, already
        succeeded (pipelines:promote). Its log says where it came from."""
        upstream = session.get_one(App, source.app_id)
        now = utcnow()
        build = Build(
            app_id=app.id,
            user_id=user.id if user else None,
            status=BuildStatus.SUCCEEDED,
            origin="promotion",
            promoted_from=source.id,
            commit=source.commit,
            commit_label=source.commit_label,
            artifact_key=source.artifact_key,
            artifact_sha256=source.artifact_sha256,
            artifact_size=source.artifact_size,
            runtime=source.runtime,
            architecture=source.architecture,
            procfile=dict(source.procfile or {}),
            log=f"-----> Promoted from build {source.id} of {upstream.name}; nothing built\n",
            started_at=now,
            finished_at=now,
        )
        session.add(build)
        session.flush()
        return build

    def same_code_since(self, session: Session, build: Build) -> Build | None:
        """The newest build after `build` that succeeded with the same artifact and made no
        release (a push that changed nothing: "nothing changed; vN is live"), or None. Its
        commit is what the deploy branch shows while `build` runs (laambda/receiver/branch.py)."""
        released = select(Release.id).where(Release.build_id == Build.id).exists()
        query = (
            select(Build)
            .where(Build.app_id == build.app_id, Build.id > build.id)
            .where(Build.status == BuildStatus.SUCCEEDED)
            .where(Build.artifact_sha256 == build.artifact_sha256, ~released)
            .order_by(Build.id.desc())
            .limit(1)
        )
        return session.scalar(query)

    def pushed(self, session: Session, apps: Sequence[App], commits: Sequence[str]) -> set[str]:
        """Those of `commits` that reached a repository of one of `apps` by `git push` (a
        build of origin "push"); an upload (`laambda deploy`) or a promotion brings no git
        objects, so only these can be found in a repository (laambda/receiver/siblings.py)."""
        if not apps or not commits:
            return set()
        query = select(Build.commit).where(
            Build.app_id.in_([app.id for app in apps]),
            Build.commit.in_(commits),
            Build.origin == "push",
        )
        return {commit for commit in session.scalars(query.distinct()) if commit is not None}

    def running(self, session: Session) -> Sequence[Build]:
        """Builds of every app that some worker runs, or ran until it died."""
        query = select(Build).where(Build.status == BuildStatus.RUNNING).order_by(Build.id)
        return list(session.scalars(query))

    def start(self, session: Session, build: Build) -> bool:
        """A worker takes the build (pending, or run again after its worker died); False
        when it has ended and must be left alone."""
        if build.status not in (BuildStatus.PENDING, BuildStatus.RUNNING, BuildStatus.ABANDONED):
            return False
        build.status = BuildStatus.RUNNING
        build.started_at = utcnow()
        build.log = ""
        build.error = None
        session.flush()
        return True

    def succeed(
        self,
        session: Session,
        build: Build,
        *,
        sha256: str,
        key: str,
        size: int,
        runtime: str,
        architecture: str,
        procfile: dict[str, str],
        log: Sequence[str],
    ) -> None:
        """The artifact (hex sha256, object key, size in bytes) is in the object store."""
        build.status = BuildStatus.SUCCEEDED
        build.finished_at = utcnow()
        build.artifact_sha256 = sha256
        build.artifact_key = key
        build.artifact_size = size
        build.runtime = runtime
        build.architecture = architecture
        build.procfile = dict(procfile)
        self.save_log(session, build, log)

    def fail(self, session: Session, build: Build, *, error: str, log: Sequence[str]) -> None:
        """Ended without an artifact; `error` is what the pusher is told."""
        self._end(session, build, BuildStatus.FAILED, error, log)

    def stop(self, session: Session, build: Build, *, log: Sequence[str]) -> None:
        """Its worker saw the cancel request and stopped: nothing was deployed."""
        self._end(session, build, BuildStatus.CANCELLED, "build cancelled", log)

    def abandon(self, session: Session, build: Build) -> None:
        """Its worker died (no one holds its build lock); a redelivered task builds it again."""
        build.status = BuildStatus.ABANDONED
        build.error = "its worker died during the build"
        build.finished_at = utcnow()
        session.flush()

    def save_log(self, session: Session, build: Build, log: Sequence[str]) -> None:
        """The build's whole output, one line each; the pusher saw it as it came."""
        build.log = "".join(f"{line}\n" for line in log)
        session.flush()

    def _end(
        self, session: Session, build: Build, status: BuildStatus, error: str, log: Sequence[str]
    ) -> None:
        build.status = status
        build.error = error
        build.finished_at = utcnow()
        self.save_log(session, build, log)


build_service = BuildService()
