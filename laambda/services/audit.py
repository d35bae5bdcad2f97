"""The audit trail: who changed what. Key names only, never config values.

Every service that changes something records it here, in the same transaction as the change
(so a change that is rolled back leaves no trace, and one that is kept always has one).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from laambda.db.models import App, AuditEvent, Collaborator, User


class AuditService:
    def record(
        self,
        session: Session,
        user: User | None,
        *,
        action: str,
        app: str | None = None,
        **detail: Any,
    ) -> None:
        """Note `action` (`<noun>.<verb>`, e.g. "token.create") by `user` (None: the platform)
        on `app`, with JSON-able `detail` that never holds a secret or a config value."""
        session.add(
            AuditEvent(
                user_id=user.id if user else None, app_name=app, action=action, detail=detail
            )
        )

    def for_app(self, session: Session, app: App, *, limit: int = 100) -> list[AuditEvent]:
        """The app's events, newest first; only since this app was created, so an app that
        reuses a destroyed app's name never shows that app's history."""
        query = (
            select(AuditEvent)
            .where(AuditEvent.app_name == app.name, AuditEvent.created_at >= app.created_at)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
        return list(session.scalars(query))

    def visible_to(self, session: Session, user: User, *, limit: int = 100) -> list[AuditEvent]:
        """Everything an admin may see (all events), or for anyone else: what they did
        themselves plus the events of the apps they collaborate on (since each app was
        created); newest first."""
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if not user.is_admin:
            shared = exists().where(
                Collaborator.user_id == user.id,
                Collaborator.app_id == App.id,
                App.name == AuditEvent.app_name,
                AuditEvent.created_at >= App.created_at,
            )
            query = query.where(or_(AuditEvent.user_id == user.id, shared))
        return list(session.scalars(query))


audit = AuditService()
