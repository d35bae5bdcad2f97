from __future__ import annotations

from fastapi import APIRouter, Query

from laambda.api.deps import (
    AppName,
    CurrentUser,
    Offset,
    RowId,
    SessionDep,
    SettingsDep,
    StoreDep,
    StreamsDep,
)
from laambda.api.schemas.build import BuildDetail, BuildRead
from laambda.build.cache import purge_cache
from laambda.services.app import app_service
from laambda.services.audit import audit
from laambda.services.build import build_service
from laambda.worker.logstream import request_cancel

router = APIRouter(prefix="/apps/{app}/builds", tags=["builds"])
cache_router = APIRouter(prefix="/apps/{app}", tags=["builds"])


@router.get("")
def list_builds(
    app: AppName,
    session: SessionDep,
    user: CurrentUser,
    limit: int = Query(default=20, ge=1, le=200),
    offset: Offset = 0,
) -> list[BuildRead]:
    rows = build_service.list(
        session, app_service.get_for(session, user, app), limit=limit, offset=offset
    )
    return [BuildRead.model_validate(row) for row in rows]


@router.get("/{build_id}")
def show_build(
    app: AppName, build_id: RowId, session: SessionDep, user: CurrentUser
) -> BuildDetail:
    """One build with its full log."""
    row = build_service.get(session, app_service.get_for(session, user, app), build_id)
    return BuildDetail.model_validate(row)


@router.post("/{build_id}/cancel")
def cancel_build(
    app: AppName, build_id: RowId, session: SessionDep, user: CurrentUser, streams: StreamsDep
) -> BuildRead:
    """Stop a pending or running build: its container or process is stopped, nothing deployed."""
    row = build_service.get(session, app_service.get_for(session, user, app), build_id)
    build_service.cancel(session, row, user=user)
    request_cancel(streams, row.uid)
    return BuildRead.model_validate(row)


@cache_router.delete("/build-cache")
def purge_build_cache(
    app: AppName, session: SessionDep, user: CurrentUser, settings: SettingsDep, store: StoreDep
) -> dict[str, int]:
    """Forget the app's dependency cache: the next build installs from scratch."""
    row = app_service.get_for(session, user, app)
    purged = purge_cache(store, settings, row.name)
    audit.record(session, user, action="build_cache.purge", app=row.name, purged=purged)
    return {"purged": purged}
