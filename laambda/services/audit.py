"""The audit trail: who changed what. Key names only, never config values."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.db.models import App, AuditEvent, User


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
        session.add(
            AuditEvent(
                user_id=user.id if user else None, app_name=app, action=action, detail=detail
            )
        )

    def for_app(self, session: Session, app: str, *, limit: int = 100) -> list[AuditEvent]:
        """The trail of the app now called `app`, newest first: events of an earlier,
        destroyed app of the same name are kept but not shown to the new one's users."""
        created = select(App.created_at).where(App.name == app).scalar_subquery()
        query = (
            select(AuditEvent)
            .where(AuditEvent.app_name == app, AuditEvent.created_at >= created)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
        return list(session.scalars(query))


audit = AuditService()
