"""Pipelines: stages of apps, the branch each follows, promotion and what it would bring.

A pipeline is seen by its owner, admins and the collaborators of its apps (404 for anyone
else); changing an app's place needs that app to be the caller's too (403 otherwise).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.orm import Session

from laambda.api import present
from laambda.api.cloud import CloudDep
from laambda.api.deps import (
    ApplierDep,
    AppName,
    CipherDep,
    CurrentUser,
    SessionDep,
    SettingsDep,
    StoreDep,
)
from laambda.api.routes.review_apps import review_cloud
from laambda.api.schemas.pipeline import (
    CommitRead,
    DiffRead,
    PipelineApp,
    PipelineAppAdd,
    PipelineCreate,
    PipelineDestroyed,
    PipelineRead,
    PipelineTransfer,
    PipelineTransferred,
    PromotedRead,
    PromoteRequest,
    PromotionRead,
)
from laambda.config import Settings
from laambda.db.models import Pipeline
from laambda.services.pipeline import is_review_app, pipeline_service
from laambda.services.promotion import promotion_service
from laambda.services.release import release_service
from laambda.services.review_app import review_app_service

router = APIRouter(prefix="/pipelines", tags=["pipelines"])

PipelineName = Annotated[str, Path(min_length=1, max_length=100, description="the pipeline")]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_pipeline(
    body: PipelineCreate, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> PipelineRead:
    """A new, empty pipeline owned by the caller. 409 PipelineExists when the name is taken."""
    row = pipeline_service.create(session, user, name=body.name, data_dir=settings.data_dir)
    return read_pipeline(session, row, settings)


@router.get("")
def list_pipelines(
    session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> list[PipelineRead]:
    """The pipelines the caller may see, each with its apps in stage order."""
    return [
        read_pipeline(session, row, settings) for row in pipeline_service.list_for(session, user)
    ]


@router.post("/promote", status_code=status.HTTP_201_CREATED)
def promote(
    body: PromoteRequest,
    session: SessionDep,
    user: CurrentUser,
    cipher: CipherDep,
    applier: ApplierDep,
    settings: SettingsDep,
) -> PromotionRead:
    """Release the artifact `app`'s live release runs (the same sha256; nothing is built) in
    each app of `to` (default: every app of the next stage that has apps), with each app's
    own config and function settings; its description "Promote vN of APP". 409
    PromotionRefused, nothing changed, when the upstream has no live release, a downstream
    app pins another runtime or architecture, its function names would pass Lambda's 64
    characters, or a build or release of it is under way, or it runs commits the upstream
    lacks (a hotfix pushed to it: promoting would undo them; `force` promotes anyway and the
    description names them, "Promote vN of APP, undoing SHA (subject)"). Follow each release with
    `GET /v1/apps/{app}/releases/{version}`."""
    live, outcomes = promotion_service.promote(
        session,
        user,
        app=body.app,
        to=body.to,
        cipher=cipher,
        applier=applier,
        data_dir=settings.data_dir,
        force=body.force,
    )
    promoted = []
    for outcome in outcomes:
        release = present.releases(session, [outcome.release])[0] if outcome.release else None
        promoted.append(PromotedRead(app=outcome.app.name, release=release, detail=outcome.detail))
    return PromotionRead(app=body.app, version=live.version, promoted=promoted)


@router.get("/{name}")
def show_pipeline(
    name: PipelineName, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> PipelineRead:
    """Its stages in order, each app's branch, live release and commit."""
    return read_pipeline(session, pipeline_service.get_for(session, user, name), settings)


@router.delete("/{name}")
def destroy_pipeline(
    name: PipelineName,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    store: StoreDep,
    cloud: CloudDep,
) -> PipelineDestroyed:
    """Delete the pipeline and its repository, with the repository's copy in the object store
    (its owner or an admin), and destroy its review
    apps as `apps:destroy` does; its other apps stay, on their own. 409 while a build or
    release of a review app is under way (nothing of the pipeline is deleted then)."""
    pipeline = pipeline_service.get_owned(session, user, name, to="destroy it")
    destroyed = []
    for app in review_app_service.review_apps(session, pipeline):
        destroyed.append(app.name)
        review_app_service.destroy(
            session,
            app,
            actor=user,
            reason="pipelines:destroy",
            settings=settings,
            store=store,
            cloud=review_cloud(cloud),
        )
    detached = pipeline_service.destroy(
        session, user, name, data_dir=settings.data_dir, store=store
    )
    return PipelineDestroyed(name=name, detached=detached, destroyed=destroyed)


@router.post("/{name}/transfer")
def transfer_pipeline(
    name: PipelineName,
    body: PipelineTransfer,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> PipelineTransferred:
    """`{"email": "b@x"}`: make that user the owner, who may destroy and transfer it and
    steer its apps (as `POST /v1/apps/{app}/transfer`). The owner or an admin only (403); an
    admin gives an ownerless pipeline an owner this way. Its review apps move with it
    (`transferred` names them); its other apps keep their owners."""
    row, moved = pipeline_service.transfer(session, user, name, email=body.email)
    read = read_pipeline(session, row, settings)
    return PipelineTransferred(**read.model_dump(), transferred=moved)


@router.post("/{name}/apps", status_code=status.HTTP_201_CREATED)
def add_app(
    name: PipelineName,
    body: PipelineAppAdd,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> PipelineRead:
    """Put an app in a stage. The stage defaults to the one its name suggests (`-staging`,
    `-prod` …); the production app follows `main` unless a branch is given or another app
    follows `main`. 409 when the app is in a pipeline already or its branch is followed by
    another app (named); 422 for a branch name git refuses."""
    pipeline = pipeline_service.get_for(session, user, name)
    pipeline_service.add(session, user, name, app=body.app, stage=body.stage, branch=body.branch)
    return read_pipeline(session, pipeline, settings)


@router.delete("/{name}/apps/{app}")
def remove_app(
    name: PipelineName,
    app: AppName,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> PipelineRead:
    """Take an app out of the pipeline; it keeps its releases and functions."""
    pipeline = pipeline_service.get_for(session, user, name)
    row = pipeline_service.app_of(session, pipeline, app)
    pipeline_service.remove(session, user, app=row.name)
    return read_pipeline(session, pipeline, settings)


@router.get("/{name}/diff")
def diff(
    name: PipelineName,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    upstream: Annotated[str | None, Query(alias="from", min_length=1, max_length=100)] = None,
    downstream: Annotated[str | None, Query(alias="to", min_length=1, max_length=100)] = None,
) -> DiffRead:
    """The commits `from` runs that `to` does not, newest first, and in `behind` those `to`
    runs that `from` does not (defaults: the app of the stage below `to`, of the stage above
    `from`, or of the two highest stages with apps; 409 naming them when that stage has
    several apps, and when `from` is in the last stage). `note` says why commits could not
    be compared (an upload with no commit)."""
    result = promotion_service.diff(
        session,
        user,
        name,
        upstream=upstream,
        downstream=downstream,
        data_dir=settings.data_dir,
    )
    return DiffRead(
        upstream=result.upstream.name,
        downstream=result.downstream.name,
        upstream_commit=result.upstream_commit,
        downstream_commit=result.downstream_commit,
        commits=[CommitRead(sha=c.sha, author=c.author, subject=c.subject) for c in result.commits],
        behind=[CommitRead(sha=c.sha, author=c.author, subject=c.subject) for c in result.behind],
        source="git" if result.source == "git" else "builds",
        up_to_date=result.up_to_date,
        note=result.note,
    )


def read_pipeline(session: Session, pipeline: Pipeline, settings: Settings) -> PipelineRead:
    """The pipeline as the API (and the dashboard) shows it: each app's live release (the
    newest that did not fail) and the commit and artifact of the build it runs."""
    apps = []
    for app in pipeline_service.apps(session, pipeline):
        live = release_service.current(session, app)
        build = release_service.current_build(session, app)
        apps.append(
            PipelineApp(
                name=app.name,
                stage=app.stage,
                branch=app.branch,
                review_app=is_review_app(app),
                version=live.version if live else None,
                status=live.status if live else None,
                description=live.description if live else None,
                commit=build.commit if build else None,
                artifact_sha256=build.artifact_sha256 if build else None,
            )
        )
    owners = present.emails(session, [pipeline.owner_id])
    return PipelineRead(
        name=pipeline.name,
        owner=owners.get(pipeline.owner_id) if pipeline.owner_id else None,
        review_apps=pipeline.review_apps,
        created_at=pipeline.created_at,
        git_url=f"ssh://git@{settings.ssh_host}:{settings.ssh_port}/pipelines/{pipeline.name}",
        apps=apps,
    )
