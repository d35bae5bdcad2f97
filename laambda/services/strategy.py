"""An app's deploy strategy, the requests to end a running canary early, and what `live`
serves while one runs.

Setting the strategy makes no release: it applies from the next release on. Promote and
abort only record what was asked on the release in a canary; the worker watching it
(worker/canary.py) carries it out within a second, or the worker that resumes it does. A
rollback asked for during a canary aborts it first (`abort_for_rollback`): rolling back
must never pass through the canary's versions fully live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.db.models import App, Release, User
from laambda.domain.status import ReleaseStatus
from laambda.domain.strategy import CanaryDecision, DeployStrategy, StrategyKind, ends_note
from laambda.errors import Conflict
from laambda.services.audit import audit


class NoCanary(Conflict):
    """The app has no release in a canary to promote or abort (409)."""


class StrategyService:
    def of(self, app: App) -> DeployStrategy:
        """The app's strategy as stored (all-at-once for apps that never set one)."""
        if app.deploy_strategy != StrategyKind.CANARY:
            return DeployStrategy()
        return DeployStrategy(
            kind=StrategyKind.CANARY,
            percent=app.canary_percent,
            seconds=app.canary_seconds,
            max_errors=app.canary_max_errors or 0,
        )

    def set(
        self, session: Session, app: App, chosen: DeployStrategy, *, user: User | None
    ) -> DeployStrategy:
        """Use `chosen` (validated by domain/strategy.strategy) from the next release on."""
        app.deploy_strategy = chosen.kind.value
        app.canary_percent = chosen.percent
        app.canary_seconds = chosen.seconds
        app.canary_max_errors = chosen.max_errors
        audit.record(
            session,
            user,
            action="strategy.set",
            app=app.name,
            strategy=chosen.kind.value,
            percent=chosen.percent,
            seconds=chosen.seconds,
            max_errors=chosen.max_errors,
        )
        session.flush()
        return self.of(app)

    def in_canary(self, session: Session, app: App, *, lock: bool = True) -> Release | None:
        """The app's release in a canary (at most one: releases of an app apply one by one),
        locked unless `lock` is False (for reading only)."""
        query = (
            select(Release)
            .where(Release.app_id == app.id, Release.status == ReleaseStatus.CANARY)
            .order_by(Release.version.desc())
            .limit(1)
        )
        return session.scalar(query.with_for_update() if lock else query)

    def request(
        self, session: Session, app: App, decision: CanaryDecision, *, user: User
    ) -> Release:
        """Ask the worker to promote or abort the app's running canary now; NoCanary when
        there is none (or it is already being ended)."""
        release = self.in_canary(session, app)
        if release is None:
            raise NoCanary(
                f"app '{app.name}' has no release in a canary; `laambda releases` shows "
                "whether one is still being applied"
            )
        if release.canary_decision is not None:
            raise NoCanary(
                f"the canary of v{release.version} is already ending "
                f"({release.canary_decision}: {release.canary_reason})"
            )
        release.canary_decision = decision.value
        release.canary_reason = (
            f"canary aborted by {user.email}"
            if decision == CanaryDecision.ABORT
            else f"canary promoted by {user.email}"
        )
        audit.record(
            session,
            user,
            action=f"release.canary_{decision.value}",
            app=app.name,
            version=release.version,
        )
        session.flush()
        return release

    @staticmethod
    def note_errors(release: Release, count: int) -> None:
        """The canary's Errors + Throttles at the watching worker's last read."""
        release.canary_errors = count

    def abort_for_rollback(
        self, session: Session, app: App, *, target: int, user: User | None
    ) -> Release | None:
        """Abort the app's running canary (locked app) because a rollback to v`target` was
        asked for: its release fails "canary aborted by rollback to vN" and `live` goes
        back before the rollback applies. The aborted release; None when no canary runs or
        its end is already decided."""
        release = self.in_canary(session, app)
        if release is None or release.canary_decision is not None:
            return None
        release.canary_decision = CanaryDecision.ABORT.value
        release.canary_reason = f"canary aborted by rollback to v{target}"
        audit.record(
            session,
            user,
            action=f"release.canary_{CanaryDecision.ABORT.value}",
            app=app.name,
            version=release.version,
            reason=release.canary_reason,
        )
        session.flush()
        return release

    def waits(self, session: Session, rows: Iterable[Release]) -> dict[int, str]:
        """Release id -> what it waits for, for each pending or applying release made while
        an earlier release of its app is in a canary (domain/strategy.ends_note)."""
        waiting = [
            row for row in rows if row.status in (ReleaseStatus.PENDING, ReleaseStatus.APPLYING)
        ]
        if not waiting:
            return {}
        canaries = session.scalars(
            select(Release).where(
                Release.app_id.in_({row.app_id for row in waiting}),
                Release.status == ReleaseStatus.CANARY,
            )
        ).all()
        by_app = {canary.app_id: canary for canary in canaries}
        notes: dict[int, str] = {}
        for row in waiting:
            canary = by_app.get(row.app_id)
            if canary is None or canary.version >= row.version or canary.canary_ends_at is None:
                continue
            ending = canary.canary_reason if canary.canary_decision else None
            notes[row.id] = ends_note(canary.version, canary.canary_ends_at, ending)
        return notes

    def live(self, session: Session, app: App) -> dict[str, LiveShare]:
        """Function name -> what its `live` alias serves now: the newest release that went
        live or is in a canary; during a canary, the stable version with the canary's
        version and share (functions new in the canary serve it fully). Empty when nothing
        is live yet."""
        serving = session.scalar(
            select(Release)
            .where(
                Release.app_id == app.id,
                Release.status.in_((ReleaseStatus.SUCCEEDED, ReleaseStatus.CANARY)),
            )
            .order_by(Release.version.desc())
            .limit(1)
        )
        if serving is None:
            return {}
        if serving.status != ReleaseStatus.CANARY:
            return {
                name: LiveShare(str(version))
                for name, version in (serving.function_versions or {}).items()
            }
        shares: dict[str, LiveShare] = {}
        previous = serving.canary_previous or {}
        for name, new in (serving.canary_versions or {}).items():
            old = previous.get(name)
            if old is None or str(old) == str(new):
                shares[name] = LiveShare(str(new))
            else:
                shares[name] = LiveShare(
                    str(old),
                    canary_version=str(new),
                    canary_percent=serving.canary_percent,
                    canary_release=serving.version,
                )
        return shares


@dataclass(frozen=True)
class LiveShare:
    """What one function's `live` alias serves: `version` (Lambda's FunctionVersion), and
    during a canary the new version getting `canary_percent` % of invocations."""

    version: str
    canary_version: str | None = None
    canary_percent: int | None = None
    canary_release: int | None = None  # the release in its canary


strategy_service = StrategyService()
