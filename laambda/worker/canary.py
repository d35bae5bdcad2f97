"""Watching a canary release and ending it: every `live` fully on its versions, or back.

The worker that started the canary watches it in the same task, holding the app's apply
lock (so the app's next release waits, as releases do, and the recovery sweep leaves it
alone): every second it looks for a promote or abort request (services/strategy.py),
every `canary_check_interval` seconds it reads the new versions' Errors and Throttles and
tells the pusher. Everything it needs is in the release row (ReleaseStatus.CANARY, the
window's end, the versions on both sides), so when its worker dies the lock goes with it,
the sweep sends the release again within `recovery_interval`, and the next worker resumes
the watch where the database says it is. A decision is written before any alias moves, so
a worker that dies while moving them is followed by one that makes the same moves.

Ending moves aliases directly (no republishing): forward, `live` of each shared function
goes fully to the new version, which was checked against the artifact when published, and
functions the release dropped are deleted; back, each shared `live` goes fully to the
version it never left and functions new in this release are deleted. Either way every
alias ends on one release (DESIGN.md). Old versions are pruned by the next release.

Its lines and its error are redacted as the rest of the release's (worker/redaction.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from laambda.db.base import utcnow
from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from laambda.deploy import aliases
from laambda.deploy.calls import LambdaCalls
from laambda.deploy.lambda_ import Deployer
from laambda.deploy.observe import Observer, for_region
from laambda.deploy.pool import run_all
from laambda.domain.function import RELEASE_ENTRY, function_name
from laambda.domain.status import ReleaseStatus
from laambda.domain.strategy import (
    CanaryDecision,
    announcement,
    progress,
    rollback_reason,
    too_many,
    window,
)
from laambda.errors import DeployFailed, LaambdaError
from laambda.services.release import release_service
from laambda.services.strategy import strategy_service
from laambda.worker.context import WorkerContext
from laambda.worker.event_sources import apply_event_sources
from laambda.worker.redaction import redactor, release_secrets

Log = Callable[[str], None]
_logger = logging.getLogger(__name__)
POLL_SECONDS = 1.0  # how soon a promote or abort request is seen


@dataclass(frozen=True)
class Canary:
    """A release in a canary, as its row holds it."""

    release_id: int
    app: str
    region: str
    version: int
    back_to: int | None  # the last live release, whose versions the shared aliases stay on
    percent: int
    max_errors: int
    started_at: datetime
    ends_at: datetime
    versions: dict[str, str]  # every `live` function of the release -> its new version
    previous: dict[str, str | None]  # function -> the version it shares with (None: new)
    entries: tuple[str, ...]  # the release's Procfile entries that serve (event sources)
    dropped: tuple[str, ...]  # functions of the last live release this one no longer has
    decision: CanaryDecision | None
    reason: str | None
    secrets: tuple[str, ...]  # hidden in its lines and error (worker/redaction.py)

    @property
    def shared(self) -> dict[str, str]:
        return {name: old for name, old in self.previous.items() if old is not None}

    @property
    def new(self) -> list[str]:
        return sorted(name for name, old in self.previous.items() if old is None)


@dataclass(frozen=True)
class Ended:
    """How the canary ended (the release's status) and, when it failed, why."""

    status: ReleaseStatus
    version: int
    functions: list[str]
    error: str | None = None


def load(context: WorkerContext, release_id: int) -> Canary | None:
    """The release's canary, None when it is not in one."""
    with session_scope(context.sessions) as session:
        release = session.get(Release, release_id)
        if release is None or release.status != ReleaseStatus.CANARY:
            return None
        app = session.get_one(App, release.app_id)
        build = session.get(Build, release.build_id) if release.build_id else None
        entries = tuple(e for e in (build.procfile or {}) if e != RELEASE_ENTRY) if build else ()
        last = release_service.last_live(session, release)
        mine = (
            {function_name(app.name, entry) for entry in (build.procfile or {})} if build else set()
        )
        before = set((last.function_versions or {}) if last else {})
        if last is not None and last.build_id is not None:
            last_build = session.get(Build, last.build_id)
            if last_build is not None and RELEASE_ENTRY in (last_build.procfile or {}):
                before.add(function_name(app.name, RELEASE_ENTRY))
        assert release.canary_started_at is not None
        assert release.canary_ends_at is not None
        return Canary(
            release_id=release.id,
            app=app.name,
            region=app.region,
            version=release.version,
            back_to=last.version if last else None,
            percent=release.canary_percent or 0,
            max_errors=release.canary_max_errors or 0,
            started_at=release.canary_started_at,
            ends_at=release.canary_ends_at,
            versions={k: str(v) for k, v in (release.canary_versions or {}).items()},
            previous=dict(release.canary_previous or {}),
            entries=entries,
            dropped=tuple(sorted(before - mine)),
            decision=CanaryDecision(release.canary_decision) if release.canary_decision else None,
            reason=release.canary_reason,
            secrets=release_secrets(context, session, release),
        )


class CanaryWatch:
    """Watches one canary until it is decided, then carries the decision out."""

    def __init__(self, context: WorkerContext, canary: Canary, emit: Log) -> None:
        self.context = context
        self.canary = canary
        self.emit = emit
        self.redact = redactor(context, canary.secrets)
        self.lines: list[str] = []
        self.observer: Observer | None = None

    def say(self, line: str) -> None:
        line = self.redact(line)
        self.lines.append(line)
        self.emit(line)

    def run(self, *, resumed: bool) -> Ended:
        canary = self.canary
        if resumed:
            self.say(f"-----> Resuming the canary of v{canary.version} (its worker died)")
        decision, reason = canary.decision, canary.reason
        if decision is None:
            if not resumed:
                total = (canary.ends_at - canary.started_at).total_seconds()
                self.say(
                    announcement(
                        percent=canary.percent,
                        version=canary.version,
                        seconds=total,
                        max_errors=canary.max_errors,
                    )
                )
            decision, reason = self._watch()
        return self._end(decision, reason or decision.value)

    def _watch(self) -> tuple[CanaryDecision, str]:
        canary = self.canary
        interval = self.context.settings.canary_check_interval
        total = (canary.ends_at - canary.started_at).total_seconds()
        next_check = 0.0
        unread: str | None = None
        while True:
            asked = self._asked()
            if asked is not None:
                return asked
            now = utcnow()
            over = now >= canary.ends_at
            if over or time.monotonic() >= next_check:
                next_check = time.monotonic() + interval
                try:
                    errors, throttles = self._problems(now)
                    unread = None
                    self._note(errors + throttles)
                except LaambdaError as exc:
                    unread = self.redact(exc.message)
                    self.say(f" !     Canary: reading metrics failed ({exc.message}); retrying")
                else:
                    elapsed = (min(now, canary.ends_at) - canary.started_at).total_seconds()
                    if too_many(errors, throttles, canary.max_errors):
                        reason = rollback_reason(
                            errors=errors, throttles=throttles, elapsed=elapsed
                        )
                        return self._decide(CanaryDecision.ROLLBACK, reason)
                    self.say(
                        progress(
                            percent=canary.percent,
                            version=canary.version,
                            seconds=total,
                            errors=errors,
                            throttles=throttles,
                        )
                    )
                if over and unread is None:
                    reason = f"canary healthy for {window(total)}"
                    return self._decide(CanaryDecision.COMPLETE, reason)
                if over and now > canary.ends_at + timedelta(seconds=max(60.0, 4 * interval)):
                    reason = f"canary: metrics could not be read ({unread})"
                    return self._decide(CanaryDecision.ROLLBACK, reason)
            left = (canary.ends_at - utcnow()).total_seconds()
            time.sleep(max(0.05, min(POLL_SECONDS, left)) if left > 0 else POLL_SECONDS)

    def _asked(self) -> tuple[CanaryDecision, str] | None:
        """A promote or abort request recorded through the API since the last look."""
        with session_scope(self.context.sessions) as session:
            release = session.get_one(Release, self.canary.release_id)
            if release.canary_decision is None:
                return None
            return CanaryDecision(release.canary_decision), release.canary_reason or ""

    def _note(self, count: int) -> None:
        """Errors and throttles so far, on the release for `laambda releases` and the dashboard."""
        with session_scope(self.context.sessions) as session:
            release = session.get_one(Release, self.canary.release_id)
            strategy_service.note_errors(release, count)

    def _problems(self, now: datetime) -> tuple[int, int]:
        """Errors and Throttles of the new versions through `live` since the canary began."""
        canary = self.canary
        if self.observer is None:
            self.observer = for_region(self.context.settings, canary.region)
        start = canary.started_at - timedelta(minutes=1)
        end = now + timedelta(minutes=1)
        errors = throttles = 0
        for name, old in canary.previous.items():
            if old is None:
                continue  # all of its traffic is new: nothing to fall back to, not watched
            e, t = self.observer.canary_problems(name, canary.versions[name], start=start, end=end)
            errors, throttles = errors + e, throttles + t
        return errors, throttles

    def _decide(self, decision: CanaryDecision, reason: str) -> tuple[CanaryDecision, str]:
        """Record the platform's decision unless a request (locked the same way) came first."""
        with session_scope(self.context.sessions) as session:
            release = release_service.lock(session, self.canary.release_id)
            if release.canary_decision is not None:  # a request came first: it wins
                return CanaryDecision(release.canary_decision), release.canary_reason or ""
            release_service.decide_canary(
                session, release, app=self.canary.app, decision=decision.value, reason=reason
            )
        return decision, reason

    def _end(self, decision: CanaryDecision, reason: str) -> Ended:
        canary = self.canary
        deployer = self.context.deployer(canary.region, self.say)
        if decision.forward:
            self.say(
                f"-----> Canary {decision.value}: {reason}; moving live fully to v{canary.version}"
            )
            try:
                self._settle(deployer.calls, dict(canary.versions))
            except Exception as exc:
                why = self.redact(exc.message if isinstance(exc, DeployFailed) else str(exc))
                _logger.warning("promoting canary v%s failed: %s", canary.version, why)
                reason = f"moving live fully to v{canary.version} failed: {why}"
                self.say(f" !     {reason}; moving it back")
                self._record(CanaryDecision.ROLLBACK, reason)
                return self._back(deployer, reason)
            if canary.dropped:
                try:
                    deployer.remove_functions(canary.dropped)
                except DeployFailed as exc:
                    self.say(f"removing functions no longer in the Procfile failed: {exc.message}")
            with session_scope(self.context.sessions) as session:
                release = session.get_one(Release, canary.release_id)
                release_service.succeed(session, release, versions=canary.versions, log=self.lines)
            apply_event_sources(
                self.context,
                canary.release_id,
                canary.region,
                canary.entries,
                self.emit,
                self.redact,
            )
            return Ended(ReleaseStatus.SUCCEEDED, canary.version, sorted(canary.versions))
        self.say(f" !     Canary {decision.value}: {reason}; moving live back")
        return self._back(deployer, reason)

    def _back(self, deployer: Deployer, reason: str) -> Ended:
        """Every shared `live` fully on the version it never left; functions new in this
        release deleted. Raises when AWS refuses: the release stays in its canary, with its
        decision, and the worker that resumes it tries again."""
        canary = self.canary
        self._settle(deployer.calls, canary.shared)
        if canary.new:
            deployer.remove_functions(canary.new)
        where = f"v{canary.back_to}" if canary.back_to is not None else "the previous versions"
        self.say(f"live is back on {where} everywhere")
        error = f"{reason}; live is back on {where}"
        with session_scope(self.context.sessions) as session:
            release = session.get_one(Release, canary.release_id)
            release_service.fail(session, release, error=error, log=self.lines)
        return Ended(ReleaseStatus.FAILED, canary.version, [], error)

    def _record(self, decision: CanaryDecision, reason: str) -> None:
        with session_scope(self.context.sessions) as session:
            release = session.get_one(Release, self.canary.release_id)
            release_service.decide_canary(
                session, release, app=self.canary.app, decision=decision.value, reason=reason
            )

    def _settle(self, calls: LambdaCalls, targets: dict[str, str]) -> None:
        """`live` of each function fully on targets[name], weights cleared."""
        if not targets:
            return
        workers = self.context.settings.deploy_concurrency
        with ThreadPoolExecutor(max_workers=workers) as pool:
            run_all(
                pool,
                lambda name: aliases.settle(calls, name, targets[name]),
                list(targets),
                context=lambda name: name,
            )
