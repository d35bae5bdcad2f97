"""The seam between recording a release and making it real in AWS.

The API records a release as pending and, once the transaction commits, hands its id to an
applier. The Celery applier (worker issue) deploys it; the inline applier only records it,
for a platform with nothing to deploy to yet.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from laambda.db.models import Release
from laambda.db.session import session_scope
from laambda.domain.status import ReleaseStatus
from laambda.services.release import release_service


class ReleaseApplier(Protocol):
    def apply(self, release_id: int) -> None:
        """Start making the committed release `release_id` live; must not block on AWS."""


class InlineApplier:
    """Marks releases as applied without touching AWS."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def apply(self, release_id: int) -> None:
        with session_scope(self.sessions) as session:
            release = session.get(Release, release_id, with_for_update=True)
            if release is not None and release.status == ReleaseStatus.PENDING:
                release_service.record(session, release, note="recorded; not deployed")
