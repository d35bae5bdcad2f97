"""Builds and releases left running by a worker that died are marked abandoned.

A running build holds its build lock and an applying release its app's lock; both are
PostgreSQL advisory locks, released when the holder's connection dies. So "running, and
nobody holds the lock" means its worker is gone. A task redelivered later still runs it.
"""

from __future__ import annotations

from sqlalchemy import select

from laambda.db.base import utcnow
from laambda.db.locks import LockKind, is_locked
from laambda.db.models import Build, Release
from laambda.db.session import session_scope
from laambda.worker.context import WorkerContext
from laambda.worker.logstream import LogPublisher


def sweep_abandoned(context: WorkerContext) -> tuple[int, int]:
    """Mark orphaned builds and releases abandoned; returns how many of each."""
    engine = context.engine
    with session_scope(context.sessions) as session:
        builds = session.scalars(select(Build).where(Build.status == "running")).all()
        orphans = [b for b in builds if not is_locked(engine, LockKind.BUILD, b.id)]
        for build in orphans:
            build.status = "abandoned"
            build.error = "its worker died during the build"
            build.finished_at = utcnow()
        releases = session.scalars(select(Release).where(Release.status == "applying")).all()
        stale = [r for r in releases if not is_locked(engine, LockKind.APPLY, r.app_id)]
        for release in stale:
            release.status = "abandoned"
            release.error = "its worker died while applying it"
    for build in orphans:
        LogPublisher(context.streams, build.uid).finish("abandoned", build.error or "")
    return len(orphans), len(stale)
