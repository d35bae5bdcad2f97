from __future__ import annotations

from fastapi import APIRouter, Query

from laambda.api.deps import CurrentUser, SessionDep
from laambda.api.schemas.build import BuildDetail, BuildRead
from laambda.services.app import app_service
from laambda.services.build import build_service

router = APIRouter(prefix="/apps/{app}/builds", tags=["builds"])


@router.get("")
def list_builds(
    app: str,
    session: SessionDep,
    user: CurrentUser,
    limit: int = Query(default=20, ge=1, le=200),
    offset: int = Query(default=0, ge=0),
) -> list[BuildRead]:
    rows = build_service.list(
        session, app_service.get_for(session, user, app), limit=limit, offset=offset
    )
    return [BuildRead.model_validate(row) for row in rows]


@router.get("/{build_id}")
def show_build(app: str, build_id: int, session: SessionDep, user: CurrentUser) -> BuildDetail:
    """One build with its full log."""
    row = build_service.get(session, app_service.get_for(session, user, app), build_id)
    return BuildDetail.model_validate(row)
