"""Finding the work of workers that died, within a minute and without the broker's help.

A running build holds its build lock and an applying release its app's apply lock; both are
PostgreSQL advisory locks, released the moment the holder's connection dies (a SIGKILLed
process's socket is closed by the kernel). So "running or applying, and nobody holds the
lock" means its worker is gone:

- such a build is sent to the workers again (built from its source, its pusher still
  listening), and marked abandoned (its pusher told) once its worker died BUILD_ATTEMPTS
  times, since the build may be what kills it;
- such a release (a canary's too: its window is watched under the same lock) is sent to the
  workers again at once (the build of a deploy release,
  which resumes applying it with its pusher listening; `release.apply` for the others),
  which apply it again or put every alias back on the last live release. A task the broker
  redelivers as well finds it ended and does nothing. This does not wait for the broker's
  visibility timeout (an hour), which is what a worker that died whole would otherwise cost.

It also destroys the review apps whose pipeline's TTL passed without a push
(`expire_review_apps`), as `apps:destroy` would; their branch is removed from the pipeline's
repository by the receiver the next time anyone pushes to or fetches from it
(receiver/branch.py `align_pipeline`), so a later push of that branch makes a new review app.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from laambda.db.base import utcnow
from laambda.db.locks import LockKind, is_locked
from laambda.db.models import Build, Release
from laambda.db.session import session_scope
from laambda.domain.status import BuildStatus, ReleaseStatus
from laambda.errors import BuildFailed, LaambdaError
from laambda.logstream import LogPublisher
from laambda.services.app import app_service
from laambda.services.build import build_service
from laambda.services.pipeline import is_review_app
from laambda.services.release import release_service
from laambda.services.review_app import aws_cloud, review_app_service
from laambda.worker.context import WorkerContext
from laambda.worker.enqueue import CeleryQueue

# a pending release normally waits in the queue; only one waiting this long is sent again
PENDING_GRACE_SECONDS = 60.0
# work sent again is not sent again before this (its task may be queued behind others)
RESEND_SECONDS = 120.0
# a build whose worker died this many times is abandoned
BUILD_ATTEMPTS = 3
log = logging.getLogger("laambda.worker")

if TYPE_CHECKING:
    from laambda.building.builders.docker import DockerBuilder


@dataclass
class Sweeper:
    """One per worker process; remembers what it sent so the queue does not fill up."""

    context: WorkerContext
    queue: CeleryQueue
    sent: dict[int, float] = field(default_factory=dict)  # release id -> when
    rebuilt: dict[int, tuple[int, float]] = field(default_factory=dict)  # build -> (times, when)
    docker: DockerBuilder | None = None  # its engine client, kept from one sweep to the next

    def recover_builds(self) -> tuple[list[int], int]:
        """Send again the builds whose worker died, or abandon those that died too often:
        (ids of the builds sent again, how many were abandoned)."""
        engine = self.context.engine
        now = time.monotonic()
        again: list[int] = []
        told: list[tuple[uuid.UUID, str]] = []
        with session_scope(self.context.sessions) as session:
            for build in build_service.running(session):
                times, when = self.rebuilt.get(build.id, (0, -RESEND_SECONDS))
                if now - when < RESEND_SECONDS or is_locked(engine, LockKind.BUILD, build.id):
                    continue
                if times >= BUILD_ATTEMPTS:
                    build_service.abandon(session, build)
                    told.append((build.uid, build.error or ""))
                    continue
                again.append(build.id)
                self.rebuilt[build.id] = (times + 1, now)
        for uid, error in told:
            LogPublisher(self.context.streams, uid).finish(BuildStatus.ABANDONED, error)
        for build_id in again:
            self.queue.build(build_id)
        return again, len(told)

    def recover_releases(self) -> list[int]:
        """Send again every release whose worker died; the ids of those sent."""
        engine = self.context.engine
        now = time.monotonic()
        self.sent = {key: when for key, when in self.sent.items() if now - when < RESEND_SECONDS}
        work: list[tuple[int, int | None]] = []
        with session_scope(self.context.sessions) as session:
            for release in release_service.unfinished(session):
                if release.id in self.sent or not self._orphaned(release):
                    continue
                build = session.get(Build, release.build_id) if release.build_id else None
                resumable = (
                    release.kind == "deploy"
                    and build is not None
                    and build.status == BuildStatus.SUCCEEDED
                )
                if build is not None and is_locked(engine, LockKind.BUILD, build.id):
                    continue  # its build's worker lives and is about to apply it
                work.append((release.id, build.id if resumable and build else None))
        for release_id, build_id in work:
            if build_id is not None:
                self.queue.build(build_id)  # resumes the deploy with the pusher listening
            else:
                self.queue.apply(release_id)
            self.sent[release_id] = now
        return [release_id for release_id, _ in work]

    def _orphaned(self, release: Release) -> bool:
        if is_locked(self.context.engine, LockKind.APPLY, release.app_id):
            return False  # being applied (this release or another of the app) right now
        if release.status in (ReleaseStatus.APPLYING, ReleaseStatus.CANARY):
            return True
        waited = (utcnow() - release.created_at).total_seconds()
        return waited > PENDING_GRACE_SECONDS

    def remove_build_leftovers(self) -> list[str]:
        """The Docker builder's build volumes that workers killed mid-build left in the engine
        (LAAMBDA_BUILD_MOUNTS=volumes; DockerBuilder.remove_leftovers), removed; their names.
        An engine that does not answer is logged in one line and tried again next sweep."""
        if self.context.settings.builder != "docker":
            return []
        # imported only then (choose_builder: the Docker SDK is 0.15 CPU-s of a worker's start)
        from laambda.building.builders.docker import DockerBuilder

        self.docker = self.docker or DockerBuilder(self.context.settings)
        try:
            return self.docker.remove_leftovers()
        except BuildFailed as exc:
            log.warning("left-over build volumes not removed: %s", exc.message)
            return []

    def expire_review_apps(self, *, now: datetime | None = None) -> list[str]:
        """Destroy every review app whose pipeline's TTL passed since its last deploy, each in
        its own transaction; the names destroyed. One that is busy (a build or release under
        way) or that AWS refuses to remove is left for the next sweep."""
        with session_scope(self.context.sessions) as session:
            due = [app.id for app in review_app_service.expired(session, now=now)]
        destroyed = []
        cloud = aws_cloud(self.context.settings)
        for app_id in due:
            try:
                with session_scope(self.context.sessions) as session:
                    app = app_service.lock(session, app_id)
                    if app is None or not is_review_app(app):
                        continue  # gone, or (changed meanwhile) no review app to destroy
                    name = app.name
                    review_app_service.destroy(
                        session,
                        app,
                        actor=None,
                        reason="TTL passed",
                        settings=self.context.settings,
                        store=self.context.store,
                        cloud=cloud,
                    )
                destroyed.append(name)
            except LaambdaError as refused:
                log.warning("review app %s not destroyed yet: %s", app_id, refused.message)
        return destroyed
