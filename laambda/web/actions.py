"""The dashboard's forms (POST): each checks its CSRF token, then calls the service the API
route calls, under the same app lock, and sends the browser to the releases page where the
new release is seen becoming live."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse

from laambda.api.deps import ApplierDep, CipherDep, SessionDep
from laambda.domain.strategy import CanaryDecision
from laambda.errors import NotFound
from laambda.services.app import app_service
from laambda.services.config import config_service
from laambda.services.release import release_service
from laambda.services.strategy import strategy_service
from laambda.web.deps import FormViewerDep
from laambda.web.view import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _to_releases(app: str) -> RedirectResponse:
    return RedirectResponse(f"/apps/{app}/releases", status_code=303)


@router.post("/apps/{app}/rollback")
def rollback(
    app: str,
    viewer: FormViewerDep,
    session: SessionDep,
    cipher: CipherDep,
    applier: ApplierDep,
    version: Annotated[int, Form()],
) -> RedirectResponse:
    locked = app_service.get_for(session, viewer.user, app, lock=True)
    release_service.rollback(
        session, locked, user=viewer.user, version=version, cipher=cipher, applier=applier
    )
    return _to_releases(app)


@router.post("/apps/{app}/canary/{decision}")
def end_canary(
    app: str, decision: str, viewer: FormViewerDep, session: SessionDep
) -> RedirectResponse:
    """Promote or abort the running canary now (what `laambda releases:promote|abort` ask)."""
    asked = {"promote": CanaryDecision.PROMOTE, "abort": CanaryDecision.ABORT}.get(decision)
    if asked is None:
        raise NotFound(f"no such canary action '{decision}': use promote or abort")
    locked = app_service.get_for(session, viewer.user, app, lock=True)
    strategy_service.request(session, locked, asked, user=viewer.user)
    return _to_releases(app)


@router.post("/apps/{app}/config")
def set_config(
    app: str,
    viewer: FormViewerDep,
    session: SessionDep,
    cipher: CipherDep,
    applier: ApplierDep,
    key: Annotated[str, Form()],
    value: Annotated[str, Form()] = "",
) -> RedirectResponse:
    return _change(app, viewer, session, cipher, applier, {key.strip(): value})


@router.post("/apps/{app}/config/unset")
def unset_config(
    app: str,
    viewer: FormViewerDep,
    session: SessionDep,
    cipher: CipherDep,
    applier: ApplierDep,
    key: Annotated[str, Form()],
) -> RedirectResponse:
    return _change(app, viewer, session, cipher, applier, {key: None})


def _change(
    app: str,
    viewer: FormViewerDep,
    session: SessionDep,
    cipher: CipherDep,
    applier: ApplierDep,
    changes: dict[str, str | None],
) -> RedirectResponse:
    locked = app_service.get_for(session, viewer.user, app, lock=True)
    result = config_service.change(
        session, locked, user=viewer.user, changes=changes, cipher=cipher, applier=applier
    )
    if result.release is None:
        return RedirectResponse(f"/apps/{app}/config", status_code=303)
    return _to_releases(app)
