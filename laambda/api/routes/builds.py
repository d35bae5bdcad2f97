"""Builds: pushed or uploaded sources, their logs (also as server-sent events) and the cache.

A deploy token (api/deps.py DeployUser) may upload, list, show and follow its app's builds;
every other route here takes a full token.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from laambda.api import buildstream
from laambda.api.deps import (
    AppName,
    BuildQueueDep,
    CurrentUser,
    DeployUser,
    Offset,
    RowId,
    SessionDep,
    SettingsDep,
    StoreDep,
    StreamsDep,
    TokenDep,
)
from laambda.api.schemas.build import BuildCreated, BuildDetail, BuildRead
from laambda.building.cache import purge_cache
from laambda.building.source_check import SourceLimits, SourceRefused, check_upload, human_size
from laambda.logstream import request_cancel
from laambda.services import upload_commit
from laambda.services.app import app_service
from laambda.services.audit import audit
from laambda.services.build import build_service

router = APIRouter(prefix="/apps/{app}/builds", tags=["builds"])
cache_router = APIRouter(prefix="/apps/{app}", tags=["builds"])


@router.get("")
def list_builds(
    app: AppName,
    session: SessionDep,
    user: DeployUser,
    limit: int = Query(default=20, ge=1, le=200),
    offset: Offset = 0,
) -> list[BuildRead]:
    rows = build_service.list(
        session, app_service.get_for(session, user, app), limit=limit, offset=offset
    )
    return [BuildRead.model_validate(row) for row in rows]


@router.get("/{build_id}")
def show_build(app: AppName, build_id: RowId, session: SessionDep, user: DeployUser) -> BuildDetail:
    """One build with its full log."""
    row = build_service.get(session, app_service.get_for(session, user, app), build_id)
    return BuildDetail.model_validate(row)


UPLOAD_TYPES = ("application/gzip", "application/x-gzip", "application/octet-stream")
CommitQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9a-f]{7,64}$",
        description="the git commit the source was archived from (`git rev-parse HEAD`)",
    ),
]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the source as a gzip'd tar file (`git archive --format=tar.gz "
            "HEAD`), its files at the top; Content-Type application/gzip",
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}} for t in UPLOAD_TYPES
            },
        }
    },
)
async def upload_build(
    app: AppName,
    request: Request,
    session: SessionDep,
    user: DeployUser,
    settings: SettingsDep,
    store: StoreDep,
    queue: BuildQueueDep,
    token: TokenDep,
    commit: CommitQuery = None,
) -> BuildCreated:
    """Build and release an uploaded source, as `git push` does (`laambda deploy`). The
    tarball is checked before it is kept, each refusal naming the entry and the rule: no
    absolute paths, no `..`, no device or FIFO files, no links leaving the source (also
    through other links) or looping, no name over 255 bytes or path over 3,072, at most
    LAAMBDA_MAX_SOURCE_ENTRIES entries, LAAMBDA_MAX_SOURCE_BYTES uploaded and
    LAAMBDA_MAX_UNPACKED_BYTES unpacked. `commit` becomes the build's commit (shown and
    protected by the git remotes) only when a repository of the app's codebase on this host
    holds it with the files uploaded; otherwise it is kept as `commit_label` and the release
    reads "Deploy SHA (upload, unverified)" (laambda/services/upload_commit.py). Answers
    202 with the queued build; follow `links.stream` for its log and outcome."""
    row = await run_in_threadpool(app_service.get_for, session, user, app)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in UPLOAD_TYPES:
        raise SourceRefused(
            f"send the source as a gzip'd tar file with Content-Type application/gzip, not "
            f"'{kind or 'none'}'",
            status_code=415,
        )
    cap = settings.max_source_bytes
    limits = SourceLimits(
        max_unpacked_bytes=settings.max_unpacked_bytes,
        max_entries=settings.max_source_entries,
        refuse_outside_links=True,
    )
    with tempfile.TemporaryDirectory(prefix="laambda-upload-") as work:
        tarball = Path(work) / "source.tar.gz"
        await _receive(request, tarball, cap)
        await run_in_threadpool(check_upload, tarball, limits)
        said = await run_in_threadpool(
            upload_commit.labelled, session, settings.data_dir, row, commit, tarball
        )
        key = f"sources/{row.name}/upload-{uuid.uuid4()}.tar.gz"
        await run_in_threadpool(store.ensure_bucket)
        await run_in_threadpool(store.put_file, key, tarball)
    via = f"{token.name} ({token.prefix}…)" if token.scope is not None else None
    build = await run_in_threadpool(
        lambda: build_service.create(
            session,
            row,
            user=user,
            commit=said.commit,
            source_key=key,
            queue=queue,
            origin="upload",
            token=via,
            label=said.label,
        )
    )
    path = f"/v1/apps/{row.name}/builds/{build.id}"
    links = {"self": path, "stream": f"{path}/stream"}
    return BuildCreated(**BuildRead.model_validate(build).model_dump(), links=links)


async def _receive(request: Request, tarball: Path, cap: int) -> None:
    """The request body into `tarball`, refused (413) as soon as it passes `cap` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_big(cap)
    size = 0
    with open(tarball, "wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise _too_big(cap)
            out.write(chunk)
    if size == 0:
        raise SourceRefused("the upload is empty: send the source as a gzip'd tar file")


def _too_big(cap: int) -> SourceRefused:
    return SourceRefused(
        f"the source archive is over the limit of {human_size(cap)} "
        "(LAAMBDA_MAX_SOURCE_BYTES): keep large files out of the repository",
        status_code=413,  # Content Too Large
    )


@router.get(
    "/{build_id}/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {buildstream.MEDIA_TYPE: {}}, "description": "the build's log"}},
)
def stream_build(
    app: AppName,
    build_id: RowId,
    request: Request,
    session: SessionDep,
    user: DeployUser,
    streams: StreamsDep,
) -> StreamingResponse:
    """The build's log as server-sent events while it runs: one `event: line` per line (its
    data a JSON string), `: keep-alive` comments and `event: progress` lines while it is
    quiet, and last `event: done`
    with {"status", "detail"} ("succeeded": released, or nothing changed) decided as for a
    push. A build that already ended is replayed."""
    app_row = app_service.get_for(session, user, app)
    row = build_service.get(session, app_row, build_id)
    return buildstream.respond(
        session, request.app.state.sessions, streams, app=app_row, build=row, user=user
    )


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
