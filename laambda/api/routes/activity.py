"""The audit trail, for one app or for everything the caller may see."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from laambda.api import present
from laambda.api.deps import CurrentUser, SessionDep
from laambda.api.schemas.activity import ActivityRead
from laambda.db.models import AuditEvent
from laambda.services.app import app_service
from laambda.services.audit import audit

router = APIRouter(tags=["activity"])
Limit = Query(default=50, ge=1, le=500)


@router.get("/apps/{app}/activity")
def list_activity(
    app: str, session: SessionDep, user: CurrentUser, limit: int = Limit
) -> list[ActivityRead]:
    """The app's audit trail: who changed what, newest first (key names, never values)."""
    return _read(
        session, audit.for_app(session, app_service.get_for(session, user, app), limit=limit)
    )


@router.get("/activity")
def list_all_activity(
    session: SessionDep, user: CurrentUser, limit: int = Limit
) -> list[ActivityRead]:
    """Every change the caller may see, newest first: an admin sees the whole installation;
    anyone else what they did (keys, tokens…) and what happened to the apps they share."""
    return _read(session, audit.visible_to(session, user, limit=limit))


def _read(session: Session, events: list[AuditEvent]) -> list[ActivityRead]:
    emails = present.emails(session, [e.user_id for e in events])
    return [
        ActivityRead(
            action=e.action,
            user=emails.get(e.user_id) if e.user_id else None,
            app=e.app_name,
            detail=e.detail,
            created_at=e.created_at,
        )
        for e in events
    ]
