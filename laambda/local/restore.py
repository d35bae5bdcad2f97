"""Putting every app's live release back into a fresh local cloud.

moto keeps nothing across restarts, while the database still says which release is live. On
start, `laambda up` applies each live release again through the worker's rollout, exactly as
it applies a release whose worker died (status `applying`): functions, versions, the `live`
aliases and event sources come back, under the Lambda version numbers the release recorded
(moto_versions.continue_from), so an older release's numbers never name these versions. The
artifacts it needs are in the local cloud's S3, kept on disk (object_mirror).

A release that cannot be put back stays the live release in the database (it was live; the
local cloud failing to take it again does not make it a failed release); what went wrong is
reported and the next release or rollback applies cleanly.
"""

from __future__ import annotations

from collections.abc import Callable

from laambda.config import Settings
from laambda.db.models import Release
from laambda.db.session import session_scope
from laambda.local import moto_versions
from laambda.services.app import app_service
from laambda.services.event_source import event_source_service
from laambda.services.release import release_service
from laambda.worker.context import WorkerContext
from laambda.worker.rollout import Rollout


def put_back_live_releases(settings: Settings, log: Callable[[str], None]) -> tuple[int, int]:
    """Apply every app's live release to the (empty) local cloud; returns (put back, failed)."""
    context = WorkerContext.from_settings(settings)
    try:
        with session_scope(context.sessions) as session:
            live = []
            for app in app_service.all(session):
                release = release_service.current(session, app)
                if release is not None and release.status == "succeeded" and release.build_id:
                    release_service.reapply(session, release)
                    numbers = {
                        name: int(number) - 1
                        for name, number in (release.function_versions or {}).items()
                    }
                    live.append((app.name, release.id, release.version, numbers))
        rollout = Rollout(context)
        done = failed = 0
        for name, release_id, version, numbers in live:
            moto_versions.continue_from(numbers)  # the versions keep their recorded numbers
            try:
                applied = rollout.apply(release_id)
            finally:
                moto_versions.continue_from({})
            if applied is not None and applied.status == "succeeded":
                done += 1
                log(f"{name}: v{version} is live again ({', '.join(applied.functions)})")
                for line in _urls(context, name):
                    log(line)
                continue
            failed += 1
            with session_scope(context.sessions) as session:
                error = release_service.keep_live(session, session.get_one(Release, release_id))
            log(f"{name}: v{version} could not be put back into the local cloud: {error}")
        return done, failed
    finally:
        context.streams.close()


def _urls(context: WorkerContext, app_name: str) -> list[str]:
    """The app's function URLs, as `laambda up` prints them once they answer again."""
    with session_scope(context.sessions) as session:
        urls = event_source_service.urls(session, app_name)
    return [f"  {app_name} {entry}: {url}" for entry, url in urls]
