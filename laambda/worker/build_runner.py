"""Running a pushed build: source from S3 -> artifact in S3 -> a deploy release, applied.

Every line goes to the build's Redis stream as it happens (the git receiver relays it to the
pusher) and to the Build row at the end; the outcome is told once, by the stream's `done`
entry. Idempotent: a build that already ended is left alone, one whose worker died is run
again from its source, and one whose worker died while its release was being applied
resumes applying that release. A build that would change nothing makes no release.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from laambda.building.pipeline import BuildResult, build_source
from laambda.building.unpack import SourceRefused
from laambda.db.locks import LockKind, LockTimeout, advisory_lock
from laambda.db.models import App, Build, User
from laambda.db.session import session_scope
from laambda.deploy.lambda_ import artifact_key
from laambda.domain.function import architecture_or_default
from laambda.domain.redact import Redactor
from laambda.domain.release import unchanged_message
from laambda.domain.status import BuildStatus, ReleaseStatus
from laambda.errors import BuildFailed
from laambda.logstream import LogPublisher, cancel_requested
from laambda.services.app import app_service
from laambda.services.build import build_service
from laambda.services.release import release_service
from laambda.trace import mark
from laambda.worker.context import WorkerContext
from laambda.worker.redaction import redactor
from laambda.worker.rollout import Rollout

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    uid: uuid.UUID
    app: str
    app_id: int
    architecture: str
    runtime: str | None
    source_key: str
    commit: str
    # a release this build made that a worker died applying: apply it, do not build again
    resume: int | None = None
    log: tuple[str, ...] = ()


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
            # a short wait: the recovery sweep may be probing the lock this very moment
            with advisory_lock(self.context.engine, LockKind.BUILD, build_id, timeout=2):
                return self._run(build_id)
        except LockTimeout:
            return None  # another worker is running it right now

    def _run(self, build_id: int) -> str | None:
        mark("worker.start", build_id)
        job = self._start(build_id)
        if job is None:
            return None
        stream = LogPublisher(self.context.streams, job.uid)
        lines: list[str] = list(job.log)
        redact = self._redactor(job.app_id)

        def emit(line: str) -> None:
            line = redact(line)
            lines.append(line)
            stream.line(line)

        if job.resume is not None:
            emit("-----> The worker deploying this build died; deploying it again")
            return self._deploy(build_id, job.resume, emit, lines, stream)
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
            message = redact(exc.message)
            lines.append(f" !     {message}")  # the pusher hears it once, from `done`
            self._end(build_id, lines, error=message)
            stream.finish(BuildStatus.FAILED, message)
            if isinstance(exc, SourceRefused):
                self.context.store.delete(job.source_key)  # a refused tarball is not kept
            return BuildStatus.FAILED
        except Exception as exc:
            # the operator's record, with the traceback; the user's says no host path
            reference = uuid.uuid4().hex[:12]
            _logger.exception("build %s failed: internal error %s", build_id, reference)
            message = redact(
                internal_error(exc, data_dir=self.context.settings.data_dir, reference=reference)
            )
            lines.append(f" !     {message}")
            self._end(build_id, lines, error=message)
            stream.finish(BuildStatus.FAILED, message)
            return BuildStatus.FAILED
        finally:
            done.set()
        if cancel.is_set() or cancel_requested(self.context.streams, job.uid):
            return self._cancelled(build_id, lines, stream)
        mark("worker.built", build_id)
        release_id, live = self._release(build_id, result, lines)
        if release_id is None:
            return self._outcome(build_id, lines, stream, BuildStatus.SUCCEEDED, live)
        return self._deploy(build_id, release_id, emit, lines, stream)

    def _deploy(
        self,
        build_id: int,
        release_id: int,
        emit: Callable[[str], None],
        lines: list[str],
        stream: LogPublisher,
    ) -> str:
        """Apply the build's release with its lines in the push, and tell how it ended (its
        error as the rollout redacted it)."""
        mark("worker.released", build_id)
        # pruning old versions waits until the pusher has heard the outcome
        rollout = Rollout(self.context, defer_prune=True)
        applied = rollout.apply(release_id, log=lambda line: emit(_deploy_line(line)))
        mark("worker.deployed", build_id)
        if applied is not None and applied.status == ReleaseStatus.SUCCEEDED:
            detail = f"Released v{applied.version}: {', '.join(applied.functions)}"
            status = self._outcome(build_id, lines, stream, BuildStatus.SUCCEEDED, detail)
        else:
            reason = applied.error if applied is not None else None
            detail = f"release failed: {reason or 'the release was not applied'}"
            status = self._outcome(build_id, lines, stream, BuildStatus.FAILED, detail)
        rollout.housekeeping()
        return status

    def _outcome(
        self, build_id: int, lines: list[str], stream: LogPublisher, status: str, detail: str
    ) -> str:
        """The push's last word: kept in the build's log, told to the pusher by `done`."""
        lines.append(f"-----> {detail}" if status == BuildStatus.SUCCEEDED else f" !     {detail}")
        self._save_log(build_id, lines)
        stream.finish(status, detail)
        mark("worker.done", build_id)
        return status

    def _cancelled(self, build_id: int, lines: list[str], stream: LogPublisher) -> str:
        lines.append(" !     Build cancelled; nothing was deployed")
        with session_scope(self.context.sessions) as session:
            build_service.stop(session, session.get_one(Build, build_id), log=lines)
        stream.finish(BuildStatus.CANCELLED, "build cancelled; nothing was deployed")
        return BuildStatus.CANCELLED

    def _redactor(self, app_id: int) -> Redactor:
        """Hides every secret value the platform knows for this build: its own settings and
        credentials, and the app's config var values; from the build's output and log."""
        with session_scope(self.context.sessions) as session:
            app = session.get_one(App, app_id)
            config = release_service.config(session, app, self.context.cipher)
        return redactor(self.context, config.values())

    def _start(self, build_id: int) -> Job | None:
        with session_scope(self.context.sessions) as session:
            build = session.get(Build, build_id)
            if build is None:
                return None
            resume = None
            if not build_service.start(session, build):
                release = release_service.of_build(session, build)
                if release is None or release.status in ReleaseStatus.ENDED:
                    return None  # ended, and so did its release
                resume = release.id
            app = session.get_one(App, build.app_id)
            return Job(
                uid=build.uid,
                app=app.name,
                app_id=app.id,
                architecture=architecture_or_default(app.architecture),
                runtime=app.runtime,
                source_key=build.source_key or "",
                commit=build.commit or "",
                resume=resume,
                log=tuple(build.log.splitlines()) if resume is not None else (),
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

    def _release(
        self, build_id: int, result: BuildResult, lines: list[str]
    ) -> tuple[int | None, str]:
        """The build's deploy release (its id), or (None, why not) when it changes nothing."""
        with session_scope(self.context.sessions) as session:
            build = session.get_one(Build, build_id)
            build_service.succeed(
                session,
                build,
                sha256=result.sha256,
                key=artifact_key(result.sha256),
                size=result.size,
                runtime=result.runtime,
                architecture=result.architecture,
                procfile=dict(result.procfile),
                log=lines,
            )
            app = app_service.lock(session, build.app_id)
            assert app is not None  # its build row (read above) would be gone with it
            live = release_service.unchanged(session, app, build, self.context.cipher)
            if live is not None:
                return None, unchanged_message(live.version)
            user = session.get(User, build.user_id) if build.user_id else None
            release = release_service.deploy(
                session, app, build, user=user, cipher=self.context.cipher, applier=_AppliedHere()
            )
            return release.id, ""

    def _end(self, build_id: int, lines: list[str], *, error: str) -> None:
        with session_scope(self.context.sessions) as session:
            build_service.fail(session, session.get_one(Build, build_id), error=error, log=lines)

    def _save_log(self, build_id: int, lines: list[str]) -> None:
        with session_scope(self.context.sessions) as session:
            build_service.save_log(session, session.get_one(Build, build_id), lines)

    def _watch(self, uid: uuid.UUID, cancel: threading.Event, done: threading.Event) -> None:
        """Turn a cancel request (from the API, through Redis) into the build's cancel event."""
        while not done.wait(0.5):
            if cancel_requested(self.context.streams, uid):
                cancel.set()
                return


# an absolute path: "/" not within a word, a relative path or a URL, up to a space or quote
_HOST_PATH = re.compile(r"(?<![\w.~/:-])/[^\s'\"]*")


def internal_error(exc: BaseException, *, data_dir: Path, reference: str) -> str:
    """What a user is told of an unexpected error in a build: the error, its paths in the
    source folder made relative to it and every other host path hidden, and `reference` to
    find the traceback in the worker's log. E.g. "internal error: [Errno 36] File name too
    long: 'app/x.py' (reference 3f2a…: …)"."""
    text = str(exc) or type(exc).__name__
    for root in sorted({str(data_dir), str(data_dir.resolve())}, key=len, reverse=True):
        source = re.escape(root.rstrip("/")) + r"/builds/[^/\s'\"]+/build/source"
        text = re.sub(source + r"/", "", text)
        text = re.sub(source + r"(?![^\s'\"])", ".", text)
    text = _HOST_PATH.sub("<host path>", text)
    return (
        f"internal error: {text} (reference {reference}: the operator finds the details in "
        "the worker's log)"
    )


def _deploy_line(line: str) -> str:
    """The deploy engine's lines in the push: step headers as they are, details indented."""
    return line if line.startswith(("-----> ", " !     ")) else f"       {line}"
