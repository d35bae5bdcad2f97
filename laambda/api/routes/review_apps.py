"""A pipeline's review apps and the config they start with (services/review_app.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path
from sqlalchemy.orm import Session

from laambda.api.cloud import Cloud as ApiCloud
from laambda.api.cloud import CloudDep
from laambda.api.deps import CipherDep, CurrentUser, SessionDep, SettingsDep, StoreDep
from laambda.api.schemas.review_app import (
    ReviewAppDestroyed,
    ReviewAppRead,
    ReviewAppsChange,
    ReviewAppsRead,
    ReviewConfigChanged,
)
from laambda.db.models import App, Pipeline
from laambda.domain.env_vars import KEY_PATTERN
from laambda.domain.status import BuildStatus, ReleaseStatus
from laambda.services.app import app_service
from laambda.services.build import build_service
from laambda.services.pipeline import pipeline_service
from laambda.services.release import release_service
from laambda.services.review_app import Cloud, review_app_service

router = APIRouter(prefix="/pipelines/{pipeline}", tags=["review apps"])
PipelineName = Annotated[str, Path(min_length=1, max_length=100, description="the pipeline")]
MASK = "********"
DEPLOYING = "deploying"


@router.get("/review-apps")
def list_review_apps(
    pipeline: PipelineName, session: SessionDep, user: CurrentUser
) -> ReviewAppsRead:
    """Whether the pipeline makes review apps, their TTL, and each review app with its branch,
    last deploy and when it expires. Anyone who may push to the pipeline."""
    row = pipeline_service.get_for(session, user, pipeline)
    return _read(session, row)


@router.patch("/review-apps")
def change_review_apps(
    pipeline: PipelineName, body: ReviewAppsChange, session: SessionDep, user: CurrentUser
) -> ReviewAppsRead:
    """`{"enabled": true, "ttl": "3d"}` or `{"enabled": false}`: the pipeline's owner or an
    admin only (403). 422 for a TTL that is not a duration between 1m and 365d."""
    row = review_app_service.configure(session, user, pipeline, enabled=body.enabled, ttl=body.ttl)
    return _read(session, row)


@router.delete("/review-apps/{target:path}")
def destroy_review_app(
    pipeline: PipelineName,
    target: str,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    store: StoreDep,
    cloud: CloudDep,
) -> ReviewAppDestroyed:
    """Destroy the review app of a branch (or named by its app name) as `apps:destroy` does;
    its collaborators, the pipeline's owner and admins may. 404 when the pipeline has no such
    review app; 409 while a build or release of it is under way."""
    row = pipeline_service.get_for(session, user, pipeline)
    app = review_app_service.find(session, row, target)
    if not (user.is_admin or row.owner_id == user.id):
        app_service.get_for(session, user, app.name)
    name, branch = app.name, app.branch
    removed = review_app_service.destroy(
        session,
        app,
        actor=user,
        reason="reviewapps:destroy",
        settings=settings,
        store=store,
        cloud=review_cloud(cloud),
    )
    return ReviewAppDestroyed(name=name, branch=branch, removed=removed)


@router.get("/review-config")
def show_review_config(
    pipeline: PipelineName,
    session: SessionDep,
    user: CurrentUser,
    cipher: CipherDep,
    reveal: bool = False,
) -> dict[str, str]:
    """The config new review apps start with; values masked unless `reveal=true`."""
    row = pipeline_service.get_for(session, user, pipeline)
    config = review_app_service.config(row, cipher)
    return dict(sorted(config.items())) if reveal else dict.fromkeys(sorted(config), MASK)


@router.patch("/review-config")
def change_review_config(
    pipeline: PipelineName,
    session: SessionDep,
    user: CurrentUser,
    cipher: CipherDep,
    changes: dict[str, str | None] = Body(
        examples=[{"BUCKET": "previews", "DEBUG": None}],
        description="keys to set to a value, and keys to unset (null)",
        json_schema_extra={"propertyNames": {"pattern": KEY_PATTERN.pattern}},
    ),
) -> ReviewConfigChanged:
    """Set and unset keys of the review config (the pipeline's owner or an admin); review
    apps made from now on start with it. 422 names a key or value Lambda would refuse."""
    changed = review_app_service.change_config(
        session, user, pipeline, changes=changes, cipher=cipher
    )
    return ReviewConfigChanged(pipeline=pipeline, changed=changed)


def _read(session: Session, pipeline: Pipeline) -> ReviewAppsRead:
    return ReviewAppsRead(
        pipeline=pipeline.name,
        enabled=pipeline.review_apps,
        ttl_seconds=pipeline.review_ttl_seconds,
        apps=[
            ReviewAppRead(
                name=app.name,
                branch=app.branch,
                created_at=app.created_at,
                last_deployed_at=app.last_deployed_at,
                last_deploy=_last_deploy(session, app),
                expires_at=review_app_service.expires_at(pipeline, app),
            )
            for app in review_app_service.review_apps(session, pipeline)
        ],
    )


def _last_deploy(session: Session, app: App) -> str | None:
    """The outcome of the app's newest build and, once built, of the release it made."""
    build = build_service.latest(session, app)
    if build is None:
        return None
    if build.status != BuildStatus.SUCCEEDED:
        return str(build.status) if build.status in BuildStatus.ENDED else DEPLOYING
    release = release_service.of_build(session, build)
    if release is None or release.status not in ReleaseStatus.ENDED:
        return DEPLOYING
    return str(release.status)


def review_cloud(cloud: ApiCloud) -> Cloud:
    """The parts of the API's cloud a review app's teardown uses."""
    return Cloud(triggers=cloud.triggers, logs=lambda region: cloud.observer(region).logs)
