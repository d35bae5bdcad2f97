"""The dashboard's pages (GET). Each one finds the app through `app_service.get_for`, the
check every API route makes, and reads through the same services the API uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from laambda.api import present
from laambda.api.deps import CipherDep, SessionDep, SettingsDep
from laambda.api.routes.config import MASK
from laambda.db.models import App, AuditEvent, Build, Release
from laambda.services.app import app_service
from laambda.services.audit import audit
from laambda.services.build import build_service
from laambda.services.config import config_service
from laambda.services.event_source import event_source_service
from laambda.services.function import function_service
from laambda.services.release import release_service
from laambda.services.strategy import strategy_service
from laambda.web.deps import Viewer, ViewerDep
from laambda.web.view import FINISHED, PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 25
ACTIVITY_SIZE = 50


@dataclass(frozen=True)
class AppSummary:
    app: App
    runtime: str | None  # the app's, else the one its live build detected
    live: Release | None
    live_by: str | None
    last_build: Build | None


def _page(request: Request, viewer: Viewer, name: str, **context: Any) -> Response:
    return render(request, name, {"user": viewer.user, "csrf": viewer.csrf, **context})


def _runtime(session: Session, app: App) -> str | None:
    build = release_service.current_build(session, app)
    return app.runtime or (build.runtime if build else None)


@router.get("/")
def apps_page(request: Request, viewer: ViewerDep, session: SessionDep) -> Response:
    apps = app_service.list_for(session, viewer.user)
    lives = {app.id: release_service.current(session, app) for app in apps}
    emails = present.emails(session, [live.user_id for live in lives.values() if live])
    summaries = []
    for app in apps:
        live = lives[app.id]
        builds = build_service.list(session, app, limit=1)
        by = emails.get(live.user_id) if live and live.user_id else None
        summaries.append(
            AppSummary(app, _runtime(session, app), live, by, builds[0] if builds else None)
        )
    return _page(request, viewer, "apps.html", apps=summaries)


@router.get("/apps/{app}")
def app_page(
    app: str, request: Request, viewer: ViewerDep, session: SessionDep, settings: SettingsDep
) -> Response:
    row = app_service.get_for(session, viewer.user, app)
    functions = function_service.list(session, row)
    sources = {f.name: event_source_service.list_for(session, row, f.name) for f in functions}
    live = release_service.current(session, row)
    canary = strategy_service.in_canary(session, row, lock=False)
    ends = canary.canary_ends_at if canary is not None else None
    return _page(
        request,
        viewer,
        "app.html",
        app=present.app(session, row, settings),
        runtime=_runtime(session, row),
        functions=functions,
        sources=sources,
        live=live,
        canary=canary,
        canary_ends=f"{ends.astimezone(UTC):%H:%M:%S} UTC" if ends else None,
        tab="overview",
    )


@router.get("/apps/{app}/releases")
def releases_page(
    app: str,
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    page: int = Query(default=1, ge=1),
) -> Response:
    """Newest first, PAGE_SIZE a page; refreshes itself while a release is being applied."""
    row = app_service.get_for(session, viewer.user, app)
    rows = release_service.list(session, row, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    releases = present.releases(session, rows[:PAGE_SIZE])
    live = release_service.current(session, row)
    return _page(
        request,
        viewer,
        "releases.html",
        app=row,
        releases=releases,
        live=live,
        page=page,
        more=len(rows) > PAGE_SIZE,
        busy=any(r.status not in FINISHED for r in releases),
        tab="releases",
    )


@router.get("/apps/{app}/releases/{version}/rollback")
def confirm_rollback_page(
    app: str, version: int, request: Request, viewer: ViewerDep, session: SessionDep
) -> Response:
    row = app_service.get_for(session, viewer.user, app)
    target = release_service.get(session, row, version)
    live = release_service.current(session, row)
    return _page(
        request, viewer, "rollback.html", app=row, target=target, live=live, tab="releases"
    )


@router.get("/apps/{app}/builds")
def builds_page(
    app: str,
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    page: int = Query(default=1, ge=1),
) -> Response:
    row = app_service.get_for(session, viewer.user, app)
    rows = build_service.list(session, row, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return _page(
        request,
        viewer,
        "builds.html",
        app=row,
        builds=rows[:PAGE_SIZE],
        page=page,
        more=len(rows) > PAGE_SIZE,
        tab="builds",
    )


@router.get("/apps/{app}/builds/{build_id}")
def build_page(
    app: str, build_id: int, request: Request, viewer: ViewerDep, session: SessionDep
) -> Response:
    """A finished build shows its stored log; a running one follows its stream (build.js)."""
    row = app_service.get_for(session, viewer.user, app)
    build = build_service.get(session, row, build_id)
    return _page(
        request,
        viewer,
        "build.html",
        app=row,
        build=build,
        live=build.status not in FINISHED,
        tab="builds",
    )


@router.get("/apps/{app}/config")
def config_page(
    app: str,
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    cipher: CipherDep,
    reveal: str | None = None,
) -> Response:
    """Values masked, but the one key asked for with `?reveal=KEY`."""
    row = app_service.get_for(session, viewer.user, app)
    config = config_service.show(session, row, cipher)
    shown = {key: (value if key == reveal else MASK) for key, value in sorted(config.items())}
    return _page(
        request, viewer, "config.html", app=row, config=shown, revealed=reveal, tab="config"
    )


@router.get("/activity")
def activity_page(
    request: Request, viewer: ViewerDep, session: SessionDep, app: str | None = None
) -> Response:
    """The audit trail of one app, or of every app the viewer may see (newest first)."""
    apps = app_service.list_for(session, viewer.user)
    events: list[AuditEvent] = (
        audit.for_app(session, app_service.get_for(session, viewer.user, app), limit=ACTIVITY_SIZE)
        if app
        else audit.visible_to(session, viewer.user, limit=ACTIVITY_SIZE)
    )
    emails = present.emails(session, [e.user_id for e in events])
    return _page(
        request,
        viewer,
        "activity.html",
        apps=apps,
        selected=app,
        events=events,
        emails=emails,
    )
