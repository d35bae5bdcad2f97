"""An app's deploy strategy, and the requests to end a running canary early.

Setting the strategy makes no release: it applies from the next release on. Promote and
abort only record what was asked on the release in a canary; the worker watching it
(worker/canary.py) carries it out within a second, or the worker that resumes it does.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.db.models import App, Release, User
from laambda.domain.status import ReleaseStatus
from laambda.domain.strategy import CanaryDecision, DeployStrategy, StrategyKind
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

    def in_canary(self, session: Session, app: App) -> Release | None:
        """The app's release in a canary (at most one: releases of an app apply one by one)."""
        return session.scalar(
            select(Release)
            .where(Release.app_id == app.id, Release.status == ReleaseStatus.CANARY)
            .order_by(Release.version.desc())
            .limit(1)
            .with_for_update()
        )

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


strategy_service = StrategyService()
