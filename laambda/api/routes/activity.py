from __future__ import annotations

from fastapi import APIRouter, Query

from laambda.api import present
from laambda.api.deps import CurrentUser, SessionDep
from laambda.api.schemas.activity import ActivityRead
from laambda.services.app import app_service
from laambda.services.audit import audit

router = APIRouter(prefix="/apps/{app}/activity", tags=["activity"])


@router.get("")
def list_activity(
    app: str, session: SessionDep, user: CurrentUser, limit: int = Query(default=50, ge=1, le=500)
) -> list[ActivityRead]:
    """The app's audit trail: who changed what, newest first (key names, never values)."""
    events = audit.for_app(session, app_service.get_for(session, user, app).name, limit=limit)
    emails = present.emails(session, [e.user_id for e in events])
    return [
        ActivityRead(
            action=e.action,
            user=emails.get(e.user_id) if e.user_id else None,
            detail=e.detail,
            created_at=e.created_at,
        )
        for e in events
    ]
