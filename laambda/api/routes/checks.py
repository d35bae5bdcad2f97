from __future__ import annotations

from fastapi import APIRouter, status

from laambda.api.deps import AppName, CurrentUser, SessionDep
from laambda.api.schemas.check import CheckRead, CheckUpdate
from laambda.services.app import app_service
from laambda.services.check import check_service

router = APIRouter(prefix="/apps/{app}/checks", tags=["checks"])


@router.get("")
def list_checks(app: AppName, session: SessionDep, user: CurrentUser) -> list[CheckRead]:
    rows = check_service.list(session, app_service.get_for(session, user, app))
    return [CheckRead.model_validate(row) for row in rows]


@router.put("/{name}")
def set_check(
    app: AppName, name: str, body: CheckUpdate, session: SessionDep, user: CurrentUser
) -> CheckRead:
    """Smoke-check function `name` from the next release on (no release is made now)."""
    locked = app_service.get_for(session, user, app, lock=True)
    row = check_service.set(
        session, locked, name, user=user, event=body.event, expect_status=body.expect_status
    )
    return CheckRead.model_validate(row)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def unset_check(app: AppName, name: str, session: SessionDep, user: CurrentUser) -> None:
    locked = app_service.get_for(session, user, app, lock=True)
    check_service.unset(session, locked, name, user=user)
