"""The FastAPI application: routes under /v1, one error shape, health without auth."""

from __future__ import annotations

from typing import Any

import redis
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException

from laambda import __version__
from laambda.api.deps import refuse_nul, refuse_unknown_query
from laambda.api.fleet import fleet_registry, health_parts, metrics_response
from laambda.api.routes import (
    access,
    activity,
    apps,
    builds,
    checks,
    config,
    event_sources,
    functions,
    operate,
    pipelines,
    releases,
    review_apps,
    run,
)
from laambda.api.schemas.error import ERROR_RESPONSES
from laambda.api.schemas.strategy import window_limits
from laambda.config import Settings, get_settings
from laambda.crypto import Cipher
from laambda.db.session import get_engine, make_sessionmaker
from laambda.errors import LaambdaError
from laambda.services.applier import InlineApplier, ReleaseApplier
from laambda.web import mount_dashboard
from laambda.web.auth import api_router as dashboard_links
from laambda.worker.enqueue import CeleryQueue


def create_app(settings: Settings | None = None, applier: ReleaseApplier | None = None) -> FastAPI:
    """The API, the dashboard and /health, /metrics, on `settings` (else the environment's) and
    `applier` (see use_settings)."""
    settings = settings or get_settings()
    api = FastAPI(
        title="laambda",
        version=__version__,  # the REST API's own version is the /v1 of its paths
        description="git push to AWS Lambda",
        docs_url=None,  # served offline by the dashboard (laambda/web/docs.py)
        redoc_url=None,
    )
    use_settings(api, settings, applier)

    for module in (
        apps,
        config,
        releases,
        functions,
        builds,
        access,
        activity,
        event_sources,
        operate,
        checks,
        run,
        pipelines,
        review_apps,
    ):
        api.include_router(module.router, **_common)
    api.include_router(builds.cache_router, **_common)
    api.include_router(dashboard_links, **_common)
    mount_dashboard(api)
    window_limits(api)

    @api.get("/health", tags=["health"], responses=ERROR_RESPONSES)
    def health() -> JSONResponse:
        """200 {"status": "ok", "parts": {...}} when every part is up: database, redis,
        object_store and, when releases go to workers, the worker hosts seen recently
        (laambda/api/fleet.py); under `laambda up`, also each part it runs ({"worker":
        {"status": "up", "pid": …, "restarts": 0, "log": …}, …}). 503 {"status": "degraded"}
        while one of them is not up, naming why."""
        parts = health_parts(api.state)
        report = getattr(api.state, "parts", None)
        if report is not None:
            parts |= report()
        healthy = all(part["status"] == "up" for part in parts.values())
        body = {"status": "ok" if healthy else "degraded", "parts": parts}
        return JSONResponse(body, status_code=200 if healthy else 503)

    registry = fleet_registry(api.state)

    @api.get("/metrics", tags=["health"], include_in_schema=False)
    def metrics() -> Response:
        """Prometheus metrics of the whole fleet (laambda/api/fleet.py)."""
        return metrics_response(registry)

    api.add_exception_handler(LaambdaError, _laambda_error)  # type: ignore[arg-type]
    api.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    api.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    api.add_exception_handler(DataError, _data_error)  # type: ignore[arg-type]
    return api


def use_settings(api: FastAPI, settings: Settings, applier: ReleaseApplier | None = None) -> None:
    """Point `api`, an app create_app made, at `settings`: api.state loses every part made
    from earlier ones (each route makes the object store, the build queue, the local cloud...
    on first use and keeps it there) and gets the database sessions, cipher, release applier
    (`applier`, else the one `settings.applier` names) and Redis client of these. The OpenAPI
    document is kept: what it says of the settings it reads when asked for (window_limits).
    Every route reads them from api.state, so one app serves settings given after it was made:
    the tests give each test its own, as FastAPI analyses an app's 80-odd routes on their first
    requests, about 0.2 s of CPU per app."""
    state = api.state
    for name in list(vars(state)["_state"]):  # where starlette's State keeps its attributes
        delattr(state, name)
    state.settings = settings
    state.sessions = make_sessionmaker(get_engine(settings.database_url))
    state.cipher = Cipher(settings.secret_key)
    state.applier = applier or _applier(settings, state.sessions)
    state.streams = redis.Redis.from_url(settings.redis_url)


# every route: under /v1, its errors documented in the one shape, NUL and unknown query
# parameters refused
_common: dict[str, Any] = {
    "prefix": "/v1",
    "responses": ERROR_RESPONSES,
    "dependencies": [Depends(refuse_nul), Depends(refuse_unknown_query)],
}


def _applier(settings: Settings, sessions: sessionmaker[Session]) -> ReleaseApplier:
    """Releases go to the worker; "inline" only records them (nothing to deploy to)."""
    if settings.applier == "celery":
        return CeleryQueue(settings)
    return InlineApplier(sessions)


def _laambda_error(_request: Request, exc: LaambdaError) -> JSONResponse:
    body = {"error": type(exc).__name__, "detail": exc.message}
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each field and the rule it broke, in one line."""
    problems = []
    for error in exc.errors():
        field = ".".join(
            str(part) for part in error["loc"] if part not in ("body", "query", "path")
        )
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{field or 'body'}: {message}")
    return JSONResponse({"error": "InvalidInput", "detail": "; ".join(problems)}, status_code=422)


def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    """Starlette's own refusals (no such route, method not allowed) in the one shape."""
    noun = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
    return JSONResponse(
        {"error": noun, "detail": str(exc.detail)},
        status_code=exc.status_code,
        headers=exc.headers,
    )


def _data_error(_request: Request, exc: DataError) -> JSONResponse:
    """A value PostgreSQL cannot store (too long for its column, a number out of range, a NUL
    character) is the caller's mistake: 422, naming the kind of value, never echoing it."""
    cause = str(exc.orig).splitlines()[0] if exc.orig is not None else "malformed value"
    return JSONResponse(
        {"error": "InvalidInput", "detail": f"a value cannot be stored: {cause}"},
        status_code=422,
    )
