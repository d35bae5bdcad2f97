from __future__ import annotations

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from laambda.api import present
from laambda.api.deps import (
    ApplierDep,
    AppName,
    CipherDep,
    CurrentUser,
    Offset,
    SessionDep,
    SettingsDep,
    Version,
)
from laambda.api.schemas.release import ReleaseDetail, ReleaseRead, RollbackRequest
from laambda.api.schemas.strategy import DeployStrategyRead, DeployStrategyUpdate
from laambda.db.models import User
from laambda.domain.strategy import CanaryDecision, DeployStrategy, strategy
from laambda.services.app import app_service
from laambda.services.release import release_service
from laambda.services.strategy import strategy_service

router = APIRouter(prefix="/apps/{app}", tags=["releases"])


@router.get("/releases")
def list_releases(
    app: AppName,
    session: SessionDep,
    user: CurrentUser,
    limit: int = Query(default=20, ge=1, le=200),
    offset: Offset = 0,
) -> list[ReleaseRead]:
    """Newest first."""
    rows = release_service.list(
        session, app_service.get_for(session, user, app), limit=limit, offset=offset
    )
    return present.releases(session, rows)


@router.get("/releases/current")
def current_release(app: AppName, session: SessionDep, user: CurrentUser) -> ReleaseRead | None:
    """The release that runs (or is on its way to): the newest one that did not fail, as
    Heroku's current release; null before any."""
    row = release_service.current(session, app_service.get_for(session, user, app))
    return present.releases(session, [row])[0] if row is not None else None


@router.get("/releases/{version}")
def show_release(
    app: AppName, version: Version, session: SessionDep, user: CurrentUser, cipher: CipherDep
) -> ReleaseDetail:
    row = release_service.get(session, app_service.get_for(session, user, app), version)
    return present.release_detail(session, row, cipher)


@router.post("/rollback", status_code=status.HTTP_201_CREATED)
def rollback(
    app: AppName,
    body: RollbackRequest,
    session: SessionDep,
    user: CurrentUser,
    cipher: CipherDep,
    applier: ApplierDep,
) -> ReleaseRead:
    """Roll back to `version`, or to the release before the current one (failed ones skipped)."""
    locked = app_service.get_for(session, user, app, lock=True)
    row = release_service.rollback(
        session,
        locked,
        user=user,
        version=body.version,
        cipher=cipher,
        applier=applier,
        run_release_phase=body.run_release_phase,
    )
    return present.releases(session, [row])[0]


def _strategy_read(chosen: DeployStrategy) -> DeployStrategyRead:
    return DeployStrategyRead(
        strategy=chosen.kind.value,
        percent=chosen.percent,
        seconds=chosen.seconds,
        max_errors=chosen.max_errors,
        description=chosen.describe(),
    )


@router.get("/deploy-strategy")
def show_strategy(app: AppName, session: SessionDep, user: CurrentUser) -> DeployStrategyRead:
    """How the app's next release reaches `live`."""
    return _strategy_read(strategy_service.of(app_service.get_for(session, user, app)))


@router.put("/deploy-strategy")
def set_strategy(
    app: AppName,
    body: DeployStrategyUpdate,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> DeployStrategyRead:
    """All at once (the default), or a canary: `percent` of traffic on the new versions for
    the window, rolled back on more than `max_errors` errors. Applies from the next release.
    The window must end a minute before LAAMBDA_PUSH_LOCK_TIMEOUT (422 otherwise)."""
    chosen = strategy(
        body.strategy,
        percent=body.percent,
        minutes=body.minutes,
        seconds=body.seconds,
        max_errors=body.max_errors,
        push_lock_timeout=settings.push_lock_timeout,
    )
    locked = app_service.get_for(session, user, app, lock=True)
    return _strategy_read(strategy_service.set(session, locked, chosen, user=user))


@router.post("/canary/promote")
def promote_canary(app: AppName, session: SessionDep, user: CurrentUser) -> ReleaseRead:
    """End the running canary now: every `live` alias fully on its versions (409 if none)."""
    return _ask(app, session, user, CanaryDecision.PROMOTE)


@router.post("/canary/abort")
def abort_canary(app: AppName, session: SessionDep, user: CurrentUser) -> ReleaseRead:
    """Roll the running canary back now; it fails with "canary aborted by <you>" (409 if none)."""
    return _ask(app, session, user, CanaryDecision.ABORT)


def _ask(app: str, session: Session, user: User, decision: CanaryDecision) -> ReleaseRead:
    locked = app_service.get_for(session, user, app, lock=True)
    row = strategy_service.request(session, locked, decision, user=user)
    return present.releases(session, [row])[0]
