"""How a build ended for whoever watches it: a `git push` (laambda/receiver/push.py) or an upload
followed over HTTP (`GET /v1/apps/{app}/builds/{id}/stream`, `laambda deploy`).

One source of truth: the database. The build's Redis stream (logstream.py) carries its
lines and, at its end, the outcome the worker recorded; whenever the stream is quiet the
watcher asks the database (`decided`), so a lost or expired stream, or Redis going away,
cannot leave it waiting or told something else. `settle` is that rule, shared by both; each
watcher only renders its events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from sqlalchemy.orm import Session

from laambda.db.models import App, Build, Release
from laambda.domain.status import BuildStatus, ReleaseStatus
from laambda.logstream import LogEvent
from laambda.services.release import release_service

STILL_WORKING = "-----> … still working"
WAITING = "-----> … waiting for a worker to take the build"
_PAGE = 50
Say = Callable[[str], None]


def deploy_release(session: Session, app: App, build: Build) -> Release | None:
    """The release that deploys `build`, or None (none is made after the build)."""
    offset = 0
    while page := release_service.list(session, app, limit=_PAGE, offset=offset):
        for release in page:
            if release.build_id == build.id and release.kind == "deploy":
                return release
            if release.created_at < build.created_at:
                return None
        offset += _PAGE
    return None


def decided(session: Session, app: App, build: Build) -> LogEvent:
    """The build's outcome as the database has it: a line while the build or its release is
    still going, else the ended state (`succeeded` only when its release is live)."""
    if build.status == BuildStatus.PENDING:
        return LogEvent(line=WAITING)
    if build.status not in BuildStatus.ENDED:
        return LogEvent(line=STILL_WORKING)
    if build.status != BuildStatus.SUCCEEDED:
        return LogEvent(status=build.status, detail=build.error or "")
    release = deploy_release(session, app, build)
    if release is None:  # the build's release is recorded in the same transaction: none came
        return LogEvent(
            status="succeeded", detail=f"Build {build.id} succeeded; nothing to release"
        )
    while release.superseded_by is not None:  # a newer release carries the build: its end
        release = release_service.get(session, app, release.superseded_by)
    if release.status not in ReleaseStatus.ENDED:
        return LogEvent(line=STILL_WORKING)
    if release.status == ReleaseStatus.SUCCEEDED:
        return LogEvent(status="succeeded", detail=f"Released v{release.version}")
    reason = release.error or f"the release was {release.status}"
    return LogEvent(
        status=release.status, detail=f"release v{release.version} {release.status}: {reason}"
    )


def settle(
    events: Iterable[LogEvent | None],
    *,
    quiet: Callable[[], LogEvent] = lambda: LogEvent(line=STILL_WORKING),
) -> Iterator[LogEvent]:
    """The build's lines as they come, `quiet()`'s answer whenever the stream is silent (None
    from logstream.py `follow`), and last its outcome (an event with a status); ends
    there. Ends without an outcome only if `events` does."""
    for event in events:
        current = quiet() if event is None else event
        yield current
        if current.line is None:
            return


def relay(
    events: Iterable[LogEvent | None],
    say: Say,
    *,
    quiet: Callable[[], LogEvent] = lambda: LogEvent(line=STILL_WORKING),
) -> bool:
    """The build's lines to the pusher as they come, a progress line whenever it is quiet (so
    nothing between drops the connection), and its outcome; True when it was released."""
    for current in settle(events, quiet=quiet):
        if current.line is not None:
            say(current.line)
        elif current.status == "succeeded":
            say(f"-----> {current.detail}")
            return True
        else:
            say(f" !     Push rejected: {current.detail or f'the build was {current.status}'}")
            return False
    return False
