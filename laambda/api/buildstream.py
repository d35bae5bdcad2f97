"""A build's log as server-sent events (text/event-stream): for `laambda deploy`, any CI, and
the dashboard's build page (laambda/web/logs.py), one format for all.

Each line of the build is one `event: line` whose data is the line as a JSON string. When the
build's stream is quiet, a `: keep-alive` comment is sent and the database is asked how the
build is doing: an `event: progress` line while it goes on (as a push shows it). The last
event, `event: done`, holds {"status", "detail"} as laambda/services/outcome.py decides it for
a push, and the response ends there. A build that ended long ago (its Redis stream expired) is
replayed from its stored log.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import redis
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from laambda.db.models import App, Build, User
from laambda.db.session import session_scope
from laambda.domain.status import BuildStatus
from laambda.errors import LaambdaError
from laambda.logstream import LogEvent, follow, stream_exists
from laambda.services.app import app_service
from laambda.services.build import build_service
from laambda.services.outcome import STILL_WORKING, decided, settle

# the stream is quiet at most this long before the client hears a keep-alive comment
KEEPALIVE_SECONDS = 15.0
MEDIA_TYPE = "text/event-stream"
# proxies must pass each event on as it comes
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_PREFIXES = {True: "-----> ", False: " !     "}


@dataclass(frozen=True)
class Watched:
    """The build a client follows: which app and build, as whom."""

    app: str
    build_id: int
    uid: uuid.UUID
    user_id: int


def line_event(line: str) -> str:
    """One log line as an SSE event; JSON, so a CR or LF in it cannot start another field."""
    return f"event: line\ndata: {json.dumps(line)}\n\n"


def outcome_event(event: LogEvent) -> str:
    """The last event: how the build ended ("succeeded": its release is live, or it changed
    nothing and the live release stays), with the reason or the version in `detail`."""
    body = {"status": event.status, "detail": event.detail}
    return f"event: done\ndata: {json.dumps(body)}\n\n"


def replay(log: str, outcome: LogEvent) -> Iterator[str]:
    """An ended build from its stored log. The worker ends that log with the line it also sent
    as the outcome's detail (worker/build_runner.py `_outcome`): that line becomes the detail, so
    the replay reads like the live stream did."""
    lines = log.splitlines()
    prefix = _PREFIXES[outcome.status == BuildStatus.SUCCEEDED]
    if lines and lines[-1].startswith(prefix):
        outcome = LogEvent(status=outcome.status, detail=lines.pop().removeprefix(prefix))
    for line in lines:
        yield line_event(line)
    yield outcome_event(outcome)


def live(
    streams: redis.Redis,
    watched: Watched,
    quiet: Callable[[], LogEvent],
    *,
    keepalive: float = KEEPALIVE_SECONDS,
) -> Iterator[str]:
    """Follow the build's Redis stream from its first line to its outcome."""
    hushed: list[bool] = []

    def asked() -> LogEvent:
        hushed.append(True)
        return quiet()

    for event in settle(follow(streams, watched.uid, idle_seconds=keepalive), quiet=asked):
        progress = bool(hushed)
        if progress:
            hushed.clear()
            yield ": keep-alive\n\n"
        if event.line is None:
            yield outcome_event(event)
        elif progress:  # not the build's own output: a page showing the log may skip it
            yield f"event: progress\ndata: {json.dumps(event.line)}\n\n"
        else:
            yield line_event(event.line)


def respond(
    session: Session,
    sessions: sessionmaker[Session],
    streams: redis.Redis,
    *,
    app: App,
    build: Build,
    user: User,
    keepalive: float = KEEPALIVE_SECONDS,
) -> StreamingResponse:
    """The streamed answer for `build` of `app`, followed as `user` (who may see it): live
    from its Redis stream, or replayed from its stored log when it has ended and the stream
    is gone. The caller's `session` is used only here; the stream asks in `sessions`."""
    watched = Watched(app=app.name, build_id=build.id, uid=build.uid, user_id=user.id)
    now = decided(session, app, build)
    if now.status is not None and not stream_exists(streams, build.uid):
        events = replay(build.log, now)
    else:
        events = live(streams, watched, asker(sessions, watched), keepalive=keepalive)
    return StreamingResponse(events, media_type=MEDIA_TYPE, headers=HEADERS)


def asker(sessions: sessionmaker[Session], watched: Watched) -> Callable[[], LogEvent]:
    """What the database says of the build, each time in a session of its own; a progress line
    when it cannot be asked (a keep-alive must not end the stream)."""

    def ask() -> LogEvent:
        try:
            with session_scope(sessions) as session:
                user = session.get_one(User, watched.user_id)
                app = app_service.get_for(session, user, watched.app)
                return decided(session, app, build_service.get(session, app, watched.build_id))
        except (SQLAlchemyError, LaambdaError):
            return LogEvent(line=STILL_WORKING)

    return ask
