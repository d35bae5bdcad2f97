"""Running a pushed build: source from S3 -> artifact in S3 -> a deploy release, applied.

Every line goes to the build's Redis stream as it happens (the git receiver relays it to the
pusher) and to the Build row at the end. Idempotent: a build that already ended is left
alone, and one whose worker died is run again from its source.
"""

from __future__ import annotations

import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from laambda.build.pipeline import BuildResult, build_source
from laambda.build.unpack import SourceRefused
from laambda.db.base import utcnow
from laambda.db.locks import LockKind, LockTimeout, advisory_lock
from laambda.db.models import App, Build, User
from laambda.db.session import session_scope
from laambda.deploy.lambda_ import artifact_key
from laambda.errors import BuildFailed
from laambda.services.release import release_service
from laambda.worker.context import WorkerContext
from laambda.worker.logstream import LogPublisher, cancel_requested
from laambda.worker.rollout import Rollout


@dataclass(frozen=True)
class Job:
    uid: uuid.UUID
    app: str
    app_id: int
    architecture: str
    runtime: str | None
    source_key: str
    commit: str


class _AppliedHere:
    """The build applies its release itself, so the pusher sees the deploy in its stream."""

    def apply(self, release_id: int) -> None:
        pass


class BuildRunner:
    def __init__(self, context: WorkerContext) -> None:
        self.context = context

    def run(self, build_id: int) -> str | None:
        """Build, release and apply; returns the build's final status, None if not ours."""
        try:
            with advisory_lock(self.context.engine, LockKind.BUILD, build_id, timeout=0):
                return self._run(build_id)
        except LockTimeout:
            return None  # another worker is running it right now

    def _run(self, build_id: int) -> str | None:
        job = self._start(build_id)
        if job is None:
            return None
        stream = LogPublisher(self.context.streams, job.uid)
        lines: list[str] = []

        def emit(line: str) -> None:
            lines.append(line)
            stream.line(line)

        cancel = threading.Event()
        if cancel_requested(self.context.streams, job.uid):  # cancelled before it started
            cancel.set()
        done = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(job.uid, cancel, done), daemon=True)
        watcher.start()
        try:
            result = self._build(build_id, job, emit, cancel)
        except BuildFailed as exc:
            if cancel.is_set():
                return self._cancelled(build_id, lines, stream)
            emit(f" !     {exc.message}")
            self._end(build_id, "failed", lines, error=exc.message)
            stream.finish("failed", exc.message)
            if isinstance(exc, SourceRefused):
                self.context.store.delete(job.source_key)  # a refused tarball is not kept
            return "failed"
        except Exception as exc:
            self._end(build_id, "failed", lines, error=f"internal error: {exc}")
            stream.finish("failed", f"internal error: {exc}")
            raise
        finally:
            done.set()
        if cancel.is_set() or cancel_requested(self.context.streams, job.uid):
            return self._cancelled(build_id, lines, stream)
        release_id = self._release(build_id, result, lines)
        names = ", ".join(f"{job.app}-{name}" for name in result.procfile)
        emit(f"-----> Deploying {len(result.procfile)} functions: {names}")
        applied = Rollout(self.context).apply(release_id, log=lambda line: emit(f"       {line}"))
        if applied is not None and applied.status == "succeeded":
            emit(f"-----> Released v{applied.version}")
            self._save_log(build_id, lines)
            stream.finish("succeeded", f"Released v{applied.version}: {names}")
            return "succeeded"
        reason = applied.error if applied is not None else "the release was not applied"
        emit(f" !     Release failed: {reason}")
        self._save_log(build_id, lines)
        stream.finish("failed", f"release failed: {reason}")
        return "failed"

    def _cancelled(self, build_id: int, lines: list[str], stream: LogPublisher) -> str:
        lines.append(" !     Build cancelled; nothing was deployed")
        self._end(build_id, "cancelled", lines, error="build cancelled")
        stream.finish("cancelled", "build cancelled; nothing was deployed")
        return "cancelled"

    def _start(self, build_id: int) -> Job | None:
        with session_scope(self.context.sessions) as session:
            build = session.get(Build, build_id)
            if build is None or build.status not in ("pending", "running", "abandoned"):
                return None
            app = session.get_one(App, build.app_id)
            build.status = "running"
            build.started_at = utcnow()
            build.log = ""
            build.error = None
            return Job(
                uid=build.uid,
                app=app.name,
                app_id=app.id,
                architecture=app.architecture or "x86_64",
                runtime=app.runtime,
                source_key=build.source_key or "",
                commit=build.commit or "",
            )

    def _build(
        self, build_id: int, job: Job, emit: Callable[[str], None], cancel: threading.Event
    ) -> BuildResult:
        builds = self.context.settings.data_dir / "builds"
        builds.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=builds, prefix=f"{build_id}-") as work:
            tarball = Path(work) / "source.tar.gz"
            self.context.store.get_file(job.source_key, tarball)
            result = build_source(
                tarball,
                app_name=job.app,
                workdir=Path(work) / "build",
                settings=self.context.settings,
                store=self.context.store,
                log=emit,
                architecture=job.architecture,
                runtime=job.runtime,
                cancel=cancel,
            )
            if not cancel.is_set():
                self.context.store.put_file(artifact_key(result.sha256), result.artifact_path)
            return result

    def _release(self, build_id: int, result: BuildResult, lines: list[str]) -> int:
        with session_scope(self.context.sessions) as session:
            build = session.get_one(Build, build_id)
            build.status = "succeeded"
            build.finished_at = utcnow()
            build.artifact_sha256 = result.sha256
            build.artifact_key = artifact_key(result.sha256)
            build.artifact_size = result.size
            build.runtime = result.runtime
            build.architecture = result.architecture
            build.procfile = dict(result.procfile)
            build.log = "".join(f"{line}\n" for line in lines)
            app = session.get_one(App, build.app_id, with_for_update=True)
            user = session.get(User, build.user_id) if build.user_id else None
            release = release_service.deploy(
                session, app, build, user=user, cipher=self.context.cipher, applier=_AppliedHere()
            )
            return release.id

    def _end(self, build_id: int, status: str, lines: list[str], *, error: str) -> None:
        with session_scope(self.context.sessions) as session:
            build = session.get_one(Build, build_id)
            build.status = status
            build.error = error
            build.finished_at = utcnow()
            build.log = "".join(f"{line}\n" for line in lines)

    def _save_log(self, build_id: int, lines: list[str]) -> None:
        with session_scope(self.context.sessions) as session:
            session.get_one(Build, build_id).log = "".join(f"{line}\n" for line in lines)

    def _watch(self, uid: uuid.UUID, cancel: threading.Event, done: threading.Event) -> None:
        """Turn a cancel request (from the API, through Redis) into the build's cancel event."""
        while not done.wait(0.5):
            if cancel_requested(self.context.streams, uid):
                cancel.set()
                return
