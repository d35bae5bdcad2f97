"""A build's log on the dashboard's build page, as server-sent events: the API's own stream
(laambda/api/buildstream.py; events `line` and `done`), with keep-alives every IDLE_SECONDS."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from laambda.api import buildstream
from laambda.api.deps import SessionDep, StreamsDep
from laambda.services.app import app_service
from laambda.services.build import build_service
from laambda.web.deps import ViewerDep
from laambda.web.view import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
IDLE_SECONDS = 5.0


@router.get("/apps/{app}/builds/{build_id}/events")
def build_events(
    app: str,
    build_id: int,
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    streams: StreamsDep,
) -> StreamingResponse:
    app_row = app_service.get_for(session, viewer.user, app)
    build = build_service.get(session, app_row, build_id)
    return buildstream.respond(
        session,
        request.app.state.sessions,
        streams,
        app=app_row,
        build=build,
        user=viewer.user,
        keepalive=IDLE_SECONDS,
    )
