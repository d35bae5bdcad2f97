"""Builds as the API shows them; running them is the worker's work."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.db.models import App, Build, User
from laambda.db.session import after_commit
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
        commit: str,
        source_key: str,
        queue: BuildQueue,
    ) -> Build:
        """Record a pushed source and queue its build once the transaction commits."""
        build = Build(
            app_id=app.id,
            user_id=user.id if user else None,
            status="pending",
            commit=commit,
            source_key=source_key,
            architecture=app.architecture or "x86_64",
        )
        session.add(build)
        session.flush()
        audit.record(session, user, action="build.create", app=app.name, commit=commit)
        build_id = build.id
        after_commit(session, lambda: queue.build(build_id))
        return build

    def cancel(self, session: Session, build: Build, *, user: User) -> Build:
        """Pending builds end here; running ones are stopped by their worker (it watches)."""
        if build.status not in ("pending", "running"):
            raise Conflict(
                f"build {build.id} is {build.status}; only a running build can be cancelled"
            )
        if build.status == "pending":
            build.status = "cancelled"
            build.error = "cancelled before it started"
        audit.record(session, user, action="build.cancel", build=build.id)
        session.flush()
        return build


build_service = BuildService()
