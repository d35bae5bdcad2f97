from __future__ import annotations

from fastapi import APIRouter, Query, status

from laambda.api import present
from laambda.api.deps import (
    ApplierDep,
    AppName,
    CipherDep,
    CurrentUser,
    Offset,
    SessionDep,
    Version,
)
from laambda.api.schemas.release import ReleaseDetail, ReleaseRead, RollbackRequest
from laambda.services.app import app_service
from laambda.services.release import release_service

router = APIRouter(prefix="/apps/{app}", tags=["releases"])


@router.get("/releases")
def list_releases(
    app: AppName,
    session: SessionDep,
    user: CurrentUser,
    limit: int = Query(default=20, ge=1, le=200),
    offset: Offset = 0,
) -> list[ReleaseRead]:
    """Newest first."""
    rows = release_service.list(
        session, app_service.get_for(session, user, app), limit=limit, offset=offset
    )
    return present.releases(session, rows)


@router.get("/releases/{version}")
def show_release(
    app: AppName, version: Version, session: SessionDep, user: CurrentUser, cipher: CipherDep
) -> ReleaseDetail:
    row = release_service.get(session, app_service.get_for(session, user, app), version)
    return present.release_detail(session, row, cipher)


@router.post("/rollback", status_code=status.HTTP_201_CREATED)
def rollback(
    app: AppName,
    body: RollbackRequest,
    session: SessionDep,
    user: CurrentUser,
    cipher: CipherDep,
    applier: ApplierDep,
) -> ReleaseRead:
    """Roll back to `version`, or to the release before the current one (failed ones skipped)."""
    locked = app_service.get_for(session, user, app, lock=True)
    row = release_service.rollback(
        session,
        locked,
        user=user,
        version=body.version,
        cipher=cipher,
        applier=applier,
        run_release_phase=body.run_release_phase,
    )
    return present.releases(session, [row])[0]
