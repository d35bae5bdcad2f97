from __future__ import annotations

from fastapi import APIRouter, status

from laambda.api import present
from laambda.api.cloud import CloudDep
from laambda.api.deps import AppName, CurrentUser, SessionDep, SettingsDep, StoreDep
from laambda.api.schemas.app import AppCreate, AppDestroyed, AppRead, AppTransfer, AppUpdate
from laambda.services.app import app_service
from laambda.services.pipeline import pipeline_service
from laambda.services.teardown import remove_repository, teardown

router = APIRouter(prefix="/apps", tags=["apps"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_app(
    body: AppCreate, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> AppRead:
    """Create an app owned by the caller. 403 PermissionDenied for a role
    LAAMBDA_ALLOWED_ROLES does not permit (admins may give any), 422 for a region Lambda
    does not run in, 409 AppExists. With `pipeline` ({"name", "stage", "branch"}), the app
    joins that pipeline as `POST /v1/pipelines/{name}/apps` would; nothing is created if it
    cannot."""
    app = app_service.create(
        session,
        user,
        name=body.name,
        settings=settings,
        role=body.role,
        region=body.region,
        architecture=body.architecture,
        runtime=body.runtime,
    )
    if (place := body.pipeline) is not None:
        pipeline_service.add(
            session, user, place.name, app=app.name, stage=place.stage, branch=place.branch
        )
    # a repository an older laambda left for a destroyed app of this name is never served
    remove_repository(settings.data_dir, app.name)
    return present.app(session, app, settings)


@router.get("")
def list_apps(session: SessionDep, user: CurrentUser, settings: SettingsDep) -> list[AppRead]:
    return present.apps(session, app_service.list_for(session, user), settings)


@router.get("/{app}")
def show_app(
    app: AppName, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> AppRead:
    return present.app(session, app_service.get_for(session, user, app), settings)


@router.patch("/{app}")
def update_app(
    app: AppName, body: AppUpdate, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> AppRead:
    """Change where the app sits in a pipeline: only the fields given change (`pipeline`
    null takes it out, `branch` null makes it follow no branch). 409 when the branch is
    followed by another app of the pipeline (named) or when a stage or branch is given for
    an app in no pipeline; 422 for a branch name git refuses."""
    changes = body.model_dump(include=body.model_fields_set)
    row = pipeline_service.update(session, user, app=app, changes=changes)
    return present.app(session, row, settings)


@router.post("/{app}/transfer")
def transfer_app(
    app: AppName, body: AppTransfer, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> AppRead:
    """`{"email": "b@x"}`: make that user the owner (the old owner stays a collaborator).
    The owner or an admin only (403 names the owner)."""
    row = app_service.transfer(session, user, app, email=body.email)
    return present.app(session, row, settings)


@router.delete("/{app}")
def destroy_app(
    app: AppName,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    store: StoreDep,
    cloud: CloudDep,
) -> AppDestroyed:
    """Destroy the app and everything laambda made for it (its owner or an admin only):
    its functions, versions, aliases, event sources, schedules, function URLs and log groups
    in AWS, its git repository, dependency cache, sources and unshared artifacts. 409 while
    a build or release of it is under way; 502 when AWS refuses a removal (nothing is lost:
    run it again to finish)."""
    removed = teardown.destroy(
        session,
        user,
        app,
        settings=settings,
        store=store,
        triggers=cloud.triggers,
        logs=lambda region: cloud.observer(region).logs,
    )
    return AppDestroyed(name=app, removed=removed)
