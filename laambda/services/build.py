"""Builds as the API shows them; running them is the worker's work."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.db.models import App, Build
from laambda.errors import BuildNotFound


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


build_service = BuildService()
