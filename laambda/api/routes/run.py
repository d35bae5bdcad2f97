"""What `laambda run` reads: a function's run spec and a build's artifact, for the app's
collaborators (the same access as every app route: app_service.get_for)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from laambda.api.deps import (
    INT8_MAX,
    AppName,
    CipherDep,
    CurrentUser,
    RowId,
    SessionDep,
    StoreDep,
)
from laambda.api.schemas.run import RunSpecRead
from laambda.errors import BuildNotFound, ObjectMissing
from laambda.services.app import app_service
from laambda.services.run import artifact_key, run_spec, runnable_build

router = APIRouter(prefix="/apps/{app}", tags=["builds"])

ZIP = "application/zip"


@router.get("/run/{entry}")
def show_run_spec(
    app: AppName,
    entry: str,
    session: SessionDep,
    user: CurrentUser,
    cipher: CipherDep,
    build: int | None = Query(
        default=None, ge=1, le=INT8_MAX, description="this build (default: the live release's)"
    ),
    config: bool = Query(default=True, description="include the release's config vars"),
) -> RunSpecRead:
    """How to run Procfile entry `entry` on your machine (`laambda run`): its build, runtime,
    handler, resources and, unless `config=false`, the live release's config vars."""
    row = app_service.get_for(session, user, app)
    spec = run_spec(session, row, entry, build_id=build, with_config=config, cipher=cipher)
    return RunSpecRead.model_validate(spec)


@router.get(
    "/builds/{build_id}/artifact",
    # Response has no media type of its own, so the errors stay documented as JSON
    response_class=Response,
    responses={
        200: {
            "description": "the artifact (a zip)",
            "content": {ZIP: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def download_artifact(
    app: AppName, build_id: RowId, session: SessionDep, user: CurrentUser, store: StoreDep
) -> Response:
    """The build's artifact, the zip Lambda runs (404 unless the build succeeded)."""
    row = app_service.get_for(session, user, app)
    build = runnable_build(session, row, build_id)
    try:
        data = store.get_bytes(artifact_key(build))
    except ObjectMissing:
        raise BuildNotFound(
            f"the artifact of build {build.id} of '{row.name}' is no longer kept: push again"
        ) from None
    return Response(
        data,
        media_type=ZIP,
        headers={
            "Content-Disposition": f'attachment; filename="{row.name}-{build.id}.zip"',
            "X-Artifact-Sha256": build.artifact_sha256 or "",
        },
    )
