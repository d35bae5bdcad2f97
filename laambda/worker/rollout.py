"""Applying a release to AWS: the worker's half of the applier seam (services/applier.py).

Idempotent, because a task whose worker died is run again (redelivered, or sent again by
the recovery sweep, worker/sweep.py): a release that ended is left alone, one overtaken by
a newer release is abandoned (the newer one carries everything), and one left `applying`
by a dead worker is applied again — the deploy engine skips what AWS already has — or,
if that fails, every alias is put back on the release that was live. One release per app
at a time (advisory lock). Every change of state is release_service's; this orchestrates.

With the app's deploy strategy `canary` (not for rollbacks), the move shares `live`'s
traffic instead, and the same task then watches the window (worker/canary.py) before the
release ends; a release found in its canary is resumed there.

Pruning old versions, under the same lock, gives way: as soon as another release of the app
(a rollback, a push, a config change) waits for the lock, it stops between two Lambda calls
and the rest is left to the next pruning (deploy/prune.py).

Every line of a release (its gate's: the release phase's log, a smoke check's answer) and
its error pass through one Redactor before they are told or stored: the release's config
values, the last live release's, and the platform's secrets read `[redacted]`
(worker/redaction.py).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from laambda.db.locks import LockKind, advisory_lock, waiting
from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from laambda.deploy import aliases
from laambda.deploy.gate import Gate, Redact, SmokeCheck
from laambda.deploy.lambda_ import Deployer, DeployOutcome, FunctionSpec
from laambda.deploy.observe import invoker
from laambda.domain.function import RELEASE_ENTRY, architecture_or_default, function_name
from laambda.domain.resources import resources_for
from laambda.domain.status import ReleaseStatus
from laambda.domain.strategy import DeployStrategy
from laambda.errors import DeployFailed
from laambda.services.check import check_service
from laambda.services.release import release_service
from laambda.services.strategy import strategy_service
from laambda.worker import canary as canary_watch
from laambda.worker.context import WorkerContext
from laambda.worker.event_sources import apply_event_sources
from laambda.worker.redaction import redactor, release_secrets

Log = Callable[[str], None]
# pruning's threads: each may have a call reserved in the rate limiter when a release comes
# to wait, which goes before the release's calls; at Lambda's quota (15 calls a second) two
# threads prune as fast as eight
PRUNE_CONCURRENCY = 2
_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """Everything the deploy needs, read in one transaction so AWS calls hold none open."""

    app: str
    app_id: int
    region: str
    kind: str
    description: str
    sha256: str
    specs: list[FunctionSpec]
    previous: list[str] | None
    targets: dict[str, str]
    version: int
    # on a rerun after a worker died mid-move, what was live before: put back if this fails
    restore: Plan | None = None
    # the Procfile's `release` entry runs before `live` moves (deploy/gate.py)
    release_phase: bool = False
    checks: tuple[SmokeCheck, ...] = ()
    # the app's strategy when it is a canary (never for rollbacks, which go all at once)
    canary: DeployStrategy | None = None
    # the config values the release deploys and the last live release's: hidden in its output
    secrets: tuple[str, ...] = ()

    @property
    def held(self) -> tuple[str, ...]:
        """Entries published and never aliased: the release phase's."""
        return tuple(spec.name for spec in self.specs if spec.name == RELEASE_ENTRY)

    @property
    def serving(self) -> list[str]:
        """The entries that get a `live` alias and event sources."""
        return [spec.name for spec in self.specs if spec.name != RELEASE_ENTRY]


@dataclass(frozen=True)
class ReleaseResult:
    """How a release ended: its status, version, function names and why it failed."""

    status: ReleaseStatus
    version: int
    functions: list[str]
    error: str | None = None


class Rollout:
    def __init__(self, context: WorkerContext, *, defer_prune: bool = False) -> None:
        """`defer_prune`: pruning old versions waits for `housekeeping()`, so that a push
        is told its outcome before it (pruning reads and deletes versions of every function,
        calls that share Lambda's control-plane quota with the deploy)."""
        self.context = context
        self.defer_prune = defer_prune
        self.deferred: list[Callable[[], None]] = []

    def housekeeping(self) -> None:
        """Run what applying deferred (pruning), under the app's apply lock again: a
        release applied meanwhile has versions no release records yet, never to be pruned."""
        while self.deferred:
            self.deferred.pop(0)()

    def apply(self, release_id: int, *, log: Log | None = None) -> ReleaseResult | None:
        """Make release `release_id` live, or record why it failed; how it ended (also when
        another task ended it first), None when it does not exist."""
        with session_scope(self.context.sessions) as session:
            release = session.get(Release, release_id)
            if release is None:
                return None
            app_id = release.app_id
        with advisory_lock(self.context.engine, LockKind.APPLY, app_id):
            # a canary whose worker died: resumed, and when it is an earlier release's, it
            # ends before this one starts (one canary per app, releases one at a time)
            waiting = self._in_canary(app_id)
            if waiting is not None:
                watched = self._watch(waiting, log, resumed=True)
                if waiting == release_id:
                    return watched
            with session_scope(self.context.sessions) as session:
                plan = self._plan(session, release_id)
            if plan is None:
                return self._ended(release_id)
            return self._run(release_id, plan, log)

    def _in_canary(self, app_id: int) -> int | None:
        with session_scope(self.context.sessions) as session:
            app = session.get(App, app_id)
            release = strategy_service.in_canary(session, app) if app is not None else None
            return release.id if release is not None else None

    def _watch(self, release_id: int, log: Log | None, *, resumed: bool) -> ReleaseResult | None:
        canary = canary_watch.load(self.context, release_id)
        if canary is None:
            return self._ended(release_id)
        watch = canary_watch.CanaryWatch(self.context, canary, _emit(log))
        return self._applied(watch.run(resumed=resumed))

    @staticmethod
    def _applied(ended: canary_watch.Ended) -> ReleaseResult:
        return ReleaseResult(ended.status, ended.version, ended.functions, ended.error)

    def _run(self, release_id: int, plan: Plan, log: Log | None) -> ReleaseResult:
        lines: list[str] = []
        redact = redactor(self.context, plan.secrets)

        def emit(line: str) -> None:
            line = redact(line)
            lines.append(line)
            if log is not None:
                log(line)

        deployer = self.context.deployer(plan.region, emit)
        try:
            outcome = self._move(deployer, plan, self._gate(plan, emit, redact))
        except Exception as exc:
            # ended here, or the recovery sweep would send it again and again
            if isinstance(exc, DeployFailed):
                reason = redact(exc.message)
            else:
                _logger.exception("applying release %s", release_id)
                reason = redact(f"internal error: {exc}")
            # the reason is the release's error, told once by whoever reports the release
            restored = self._put_back(deployer, plan.restore, emit) if plan.restore else None
            with session_scope(self.context.sessions) as session:
                release = session.get_one(Release, release_id)
                if restored is None:
                    release_service.fail(session, release, error=reason, log=lines)
                else:
                    release_service.put_back(
                        session, release, error=reason, restored=restored, log=lines
                    )
                error = release.error
            return ReleaseResult(ReleaseStatus.FAILED, plan.version, [], error)
        if plan.canary is not None and outcome.split:
            strategy = plan.canary
            with session_scope(self.context.sessions) as session:
                release = session.get_one(Release, release_id)
                release_service.start_canary(
                    session,
                    release,
                    versions=outcome.versions,
                    previous=_shared(outcome.split, outcome.created),
                    percent=strategy.percent or 0,
                    seconds=strategy.seconds or 0,
                    max_errors=strategy.max_errors or 0,
                    log=lines,
                )
            watched = self._watch(release_id, log, resumed=False)
            assert watched is not None  # the row exists: this worker holds its app's lock
            return watched
        with session_scope(self.context.sessions) as session:
            release = session.get_one(Release, release_id)
            release_service.succeed(session, release, versions=outcome.versions, log=lines)
        apply_event_sources(self.context, release_id, plan.region, plan.serving, emit, redact)
        if self.defer_prune:
            held, prune = outcome.held, deployer.prune

            def later() -> None:
                # not announced: a release waiting for the lock must not give way to pruning
                with advisory_lock(
                    self.context.engine, LockKind.APPLY, plan.app_id, announce=False
                ):
                    self._prune(plan, held, prune, emit)

            self.deferred.append(later)
        else:
            self._prune(plan, outcome.held, deployer.prune, emit)
        return ReleaseResult(ReleaseStatus.SUCCEEDED, plan.version, sorted(outcome.versions))

    def _move(self, deployer: Deployer, plan: Plan, gate: Gate | None = None) -> DeployOutcome:
        """Through `gate` when the release has one; a put-back has none."""
        if plan.kind == "rollback":
            return deployer.rollback(
                plan.app,
                plan.specs,
                targets=plan.targets,
                sha256=plan.sha256,
                description=plan.description,
                previous=plan.previous,
                hold=plan.held,
                before_live=gate,
            )
        canary = plan.canary.percent if plan.canary is not None else None
        return deployer.deploy(
            plan.app,
            plan.specs,
            artifact=None,
            sha256=plan.sha256,
            description=plan.description,
            previous=plan.previous,
            hold=plan.held,
            before_live=gate,
            canary=canary / 100 if canary else None,
        )

    def _gate(self, plan: Plan, emit: Log, redact: Redact) -> Gate | None:
        """The release phase and smoke checks the new versions must pass; None when none."""
        phase = plan.release_phase and bool(plan.held)
        release = function_name(plan.app, RELEASE_ENTRY) if phase else None
        if release is None and not plan.checks:
            return None
        # the invocation may last as long as the slowest function is allowed to run
        longest = max(spec.timeout for spec in plan.specs)
        observer = invoker(self.context.settings, plan.region, read_timeout=longest + 30)
        return Gate(
            observer, log=emit, redact=redact, release_function=release, checks=list(plan.checks)
        )

    def _put_back(self, deployer: Deployer, restore: Plan, emit: Log) -> int | None:
        """A dead worker may have moved some aliases; return them all to the last good
        release. Its version when every alias is back on it, None when that failed too."""
        try:
            outcome = self._move(deployer, restore)
            # a canary cut short may have left weights on aliases already on their version
            for name, version in outcome.versions.items():
                aliases.settle(deployer.calls, name, version)
        except Exception as exc:
            reason = exc.message if isinstance(exc, DeployFailed) else str(exc)
            emit(f"putting v{restore.version} back failed too: {reason}")
            return None
        emit(f"live is back on v{restore.version} everywhere")
        return restore.version

    def _ended(self, release_id: int) -> ReleaseResult | None:
        with session_scope(self.context.sessions) as session:
            release = session.get(Release, release_id)
            if release is None:
                return None
            return ReleaseResult(
                ReleaseStatus(release.status),
                release.version,
                sorted(release.function_versions or {}),
                release.error,
            )

    def _plan(self, session: Session, release_id: int) -> Plan | None:
        release = session.get(Release, release_id)
        if release is None or release.status in ReleaseStatus.ENDED:
            return None
        newer = release_service.newer(session, release)
        if newer is not None:
            release_service.supersede(session, release, newer=newer)
            return None
        app = session.get_one(App, release.app_id)
        build = session.get(Build, release.build_id) if release.build_id else None
        if build is None or not build.artifact_sha256 or not build.procfile:
            note = "no build yet: recorded; the next push deploys it"
            release_service.record(session, release, note=note)
            return None
        rerun = release_service.begin(session, release)
        strategy = strategy_service.of(app)
        config = self.context.cipher.decrypt_json(release.config_encrypted)
        specs = _specs(app, build, release.function_settings, config)
        last = release_service.last_live(session, release)
        restore = self._restore_plan(session, app, last) if rerun and last else None
        return Plan(
            app=app.name,
            app_id=app.id,
            region=app.region,
            kind=release.kind,
            description=f"{app.name} v{release.version}: {release.description}"[:256],
            sha256=build.artifact_sha256,
            specs=specs,
            previous=_previous(session, app, last),
            targets=release_service.rollback_targets(session, release),
            version=release.version,
            restore=restore,
            release_phase=release.release_phase,
            checks=tuple(
                SmokeCheck(
                    function_name=function_name(app.name, row.name),
                    event=json.dumps(row.event).encode(),
                    expect_status=row.expect_status,
                )
                for row in check_service.list(session, app)
            ),
            canary=strategy if strategy.canary and release.kind != "rollback" else None,
            secrets=release_secrets(self.context, session, release),
        )

    def _restore_plan(self, session: Session, app: App, last: Release) -> Plan | None:
        """A rollback to `last`, the release that was live before this one."""
        build = session.get(Build, last.build_id) if last.build_id else None
        if build is None or not build.artifact_sha256:
            return None
        config = self.context.cipher.decrypt_json(last.config_encrypted)
        specs = _specs(app, build, last.function_settings, config)
        return Plan(
            app=app.name,
            app_id=app.id,
            region=app.region,
            kind="rollback",
            description=f"{app.name} v{last.version}: put back",
            sha256=build.artifact_sha256,
            specs=specs,
            previous=[function_name(app.name, spec.name) for spec in specs],
            targets={name: str(v) for name, v in (last.function_versions or {}).items()},
            version=last.version,
        )

    def _prune(
        self,
        plan: Plan,
        held: dict[str, str],
        prune: Callable[..., Any],
        emit: Log,
    ) -> None:
        """Delete Lambda versions no retained release refers to (code storage is finite);
        of the release phase's function, all but the version this release ran. Stops
        when another release of the app waits for its lock (`GiveWay`)."""
        keep: dict[str, set[str]] = {spec_name: set() for spec_name in _names(plan)}
        for name, version in held.items():
            keep[name] = {version}
        with session_scope(self.context.sessions) as session:
            retained = release_service.retained_versions(
                session, plan.app_id, keep=self.context.settings.retained_releases
            )
        for versions in retained:
            for name, version in versions.items():
                if name in keep:
                    keep[name].add(str(version))
        give_way = GiveWay(self.context.engine, plan.app_id)
        try:
            prune(keep, stop=give_way, concurrency=PRUNE_CONCURRENCY)
        except DeployFailed as exc:
            emit(f"pruning old versions failed (will retry next release): {exc.message}")
            return
        if give_way.stopped:
            emit("pruning old versions gave way to a waiting release (the next one goes on)")


class GiveWay:
    """`stop` for pruning under app `app_id`'s apply lock: True once another operation
    waits for that lock (announced, db/locks.py), and from then on. PostgreSQL is asked
    at most every `every` seconds; safe to call from the pruning threads at once."""

    def __init__(self, engine: Engine, app_id: int, *, every: float = 0.05) -> None:
        self.engine = engine
        self.app_id = app_id
        self.every = every
        self.stopped = False
        self._asked: float | None = None
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if not self.stopped and (self._asked is None or now - self._asked >= self.every):
                self._asked = now
                self.stopped = waiting(self.engine, LockKind.APPLY, self.app_id)
            return self.stopped


def _shared(split: dict[str, str], created: tuple[str, ...]) -> dict[str, str | None]:
    """Function -> the version its `live` shares traffic with; None for new functions."""
    shared: dict[str, str | None] = dict(split)
    shared.update(dict.fromkeys(created))
    return shared


def _emit(log: Log | None) -> Log:
    return log if log is not None else _logger.debug


def _previous(session: Session, app: App, last: Release | None) -> list[str] | None:
    """The functions of the release that was live: its aliased ones and, when its Procfile
    had one, its release phase's (deleted with the others once no longer in the Procfile)."""
    if last is None:
        return None
    names = set(last.function_versions or {})
    build = session.get(Build, last.build_id) if last.build_id else None
    if build is not None and RELEASE_ENTRY in (build.procfile or {}):
        names.add(function_name(app.name, RELEASE_ENTRY))
    return sorted(names)


def _names(plan: Plan) -> list[str]:
    return [function_name(plan.app, spec.name) for spec in plan.specs]


def _specs(
    app: App, build: Build, settings: dict[str, Any], config: dict[str, str]
) -> list[FunctionSpec]:
    specs = []
    for name, handler in (build.procfile or {}).items():
        resources = resources_for(name, settings)
        specs.append(
            FunctionSpec(
                name=name,
                handler=str(handler),
                runtime=build.runtime or "",
                architecture=architecture_or_default(build.architecture or app.architecture),
                role=app.role_arn,
                memory=resources.memory,
                timeout=resources.timeout,
                environment=dict(config),
            )
        )
    return specs
