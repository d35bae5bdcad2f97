"""A running build's log as server-sent events, read from the build's Redis stream (the one
the git receiver relays to the pusher). Events: `line` (one log line) and `done` (the outcome,
then the stream ends). Comments keep idle connections open through proxies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import redis
from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from laambda.api.deps import SessionDep, StreamsDep
from laambda.services.app import app_service
from laambda.services.build import build_service
from laambda.web.deps import ViewerDep
from laambda.web.view import PageRoute
from laambda.worker.logstream import follow

router = APIRouter(route_class=PageRoute, include_in_schema=False)
IDLE_SECONDS = 5.0


@router.get("/apps/{app}/builds/{build_id}/events")
def build_events(
    app: str, build_id: int, viewer: ViewerDep, session: SessionDep, streams: StreamsDep
) -> StreamingResponse:
    build = build_service.get(session, app_service.get_for(session, viewer.user, app), build_id)
    return StreamingResponse(
        _events(streams, build.uid),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _events(streams: redis.Redis, uid: uuid.UUID) -> Iterator[str]:
    for event in follow(streams, uid, idle_seconds=IDLE_SECONDS):
        if event is None:
            yield ": still building\n\n"
        elif event.line is not None:
            yield f"event: line\ndata: {json.dumps(event.line)}\n\n"
        else:
            outcome = {"status": event.status, "detail": event.detail}
            yield f"event: done\ndata: {json.dumps(outcome)}\n\n"
