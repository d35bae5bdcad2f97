from __future__ import annotations

from fastapi import APIRouter, status

from laambda.api import present
from laambda.api.deps import CurrentUser, SessionDep, SettingsDep
from laambda.api.schemas.app import AppCreate, AppRead
from laambda.services.app import app_service

router = APIRouter(prefix="/apps", tags=["apps"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_app(
    body: AppCreate, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> AppRead:
    app = app_service.create(
        session,
        user,
        name=body.name,
        settings=settings,
        role=body.role,
        region=body.region,
        architecture=body.architecture,
    )
    return present.app(app, settings)


@router.get("")
def list_apps(session: SessionDep, user: CurrentUser, settings: SettingsDep) -> list[AppRead]:
    return [present.app(app, settings) for app in app_service.list_for(session, user)]


@router.get("/{app}")
def show_app(app: str, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> AppRead:
    return present.app(app_service.get_for(session, user, app), settings)


@router.delete("/{app}", status_code=status.HTTP_204_NO_CONTENT)
def destroy_app(app: str, session: SessionDep, user: CurrentUser) -> None:
    app_service.destroy(session, user, app)
