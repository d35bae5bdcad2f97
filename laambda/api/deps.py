"""Request dependencies: one session per request, the caller, the cipher and the applier."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import redis
from fastapi import Depends, Path, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.crypto import Cipher
from laambda.db.models import ApiToken, App, User
from laambda.deploy import aws
from laambda.errors import InvalidInput, NotAuthenticated, PermissionDenied
from laambda.objectstore import ObjectStore
from laambda.services.applier import ReleaseApplier
from laambda.services.build import BuildQueue
from laambda.services.user import DEPLOY_SCOPE, user_service
from laambda.worker.enqueue import CeleryQueue

_bearer = HTTPBearer(auto_error=False)

# PostgreSQL's integer ranges: ids are bigint, release versions integer (int4)
INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1

AppName = Annotated[str, Path(min_length=1, max_length=100, description="the app's name")]
RowId = Annotated[int, Path(ge=1, le=INT8_MAX)]
Version = Annotated[int, Path(ge=1, le=INT4_MAX, description="the release version N of vN")]
Offset = Annotated[int, Query(ge=0, le=INT8_MAX, description="rows to skip")]


def refuse_nul(request: Request) -> None:
    """NUL can be stored in no PostgreSQL text and is no part of any name: a path or query
    value holding one is refused up front (JSON bodies are checked where they are stored)."""
    values = [request.url.path, *request.path_params.values()]
    values += [part for item in request.query_params.multi_items() for part in item]
    if any("\x00" in value for value in values):
        raise InvalidInput("the request's path or query holds a NUL character (\\x00)")


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters an endpoint takes, its dependencies' included."""
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


def refuse_unknown_query(request: Request) -> None:
    """A query parameter the endpoint does not take is a mistake (`?limt=5`): 422 naming it
    and those it takes, rather than an answer that silently ignored it."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    known = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:3])
        takes = ", ".join(sorted(known)) or "none"
        raise InvalidInput(f"unknown query parameter {shown}; this endpoint takes: {takes}")


def get_session(request: Request) -> Iterator[Session]:
    """Committed when the endpoint returns (before the response is sent), rolled back on error."""
    session: Session = request.app.state.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_token(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiToken:
    """The caller's token, the one place a bearer token is resolved: 401 when missing,
    unknown or expired. Routes are authorized by CurrentUser (full tokens only) or DeployUser
    (also a deploy token of the route's app), never by this alone; a route may take it beside
    one of those to name the token (in the activity trail)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("missing bearer token: log in with `laambda login`")
    return user_service.resolve(session, credentials.credentials)


TokenDep = Annotated[ApiToken, Depends(get_token)]


def scope_refusal(session: Session, token: ApiToken) -> PermissionDenied:
    """The 403 for a deploy token used beyond its scope: "this token may only deploy APP: …"
    (also said by the dashboard's sign-in, laambda/web/auth.py)."""
    app = session.get(App, token.app_id) if token.app_id is not None else None
    name = app.name if app is not None else "its app"
    return PermissionDenied(
        f"this token may only deploy {name}: it may start builds of {name} and read them "
        "(`laambda deploy`, `laambda builds`); use a full token for anything else"
    )


def get_current_user(session: SessionDep, token: TokenDep) -> User:
    """The caller, for every route but those that opt into deploy tokens: an app-scoped token
    is refused here (403), so a new route that takes CurrentUser cannot forget the check."""
    if token.scope is not None:
        raise scope_refusal(session, token)
    return token.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_deployer(app: AppName, session: SessionDep, token: TokenDep) -> User:
    """The caller of a route a deploy token may use (starting and reading builds of `app`):
    a full token, or a deploy token of this very app; 403 for a token scoped to another app.
    The route still checks that the token's user may push the app (app_service.get_for)."""
    if token.scope is not None:
        scoped = session.get(App, token.app_id) if token.app_id is not None else None
        if token.scope != DEPLOY_SCOPE or scoped is None or scoped.name != app:
            raise scope_refusal(session, token)
    return token.user


DeployUser = Annotated[User, Depends(get_deployer)]


def get_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise PermissionDenied("permission denied: only admins may do this")
    return user


AdminUser = Annotated[User, Depends(get_admin)]


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_cipher(request: Request) -> Cipher:
    cipher: Cipher = request.app.state.cipher
    return cipher


CipherDep = Annotated[Cipher, Depends(get_cipher)]


def get_applier(request: Request) -> ReleaseApplier:
    applier: ReleaseApplier = request.app.state.applier
    return applier


ApplierDep = Annotated[ReleaseApplier, Depends(get_applier)]


def get_streams(request: Request) -> redis.Redis:
    """Redis, where build logs stream and cancel requests reach the worker."""
    client: redis.Redis = request.app.state.streams
    return client


StreamsDep = Annotated[redis.Redis, Depends(get_streams)]


def get_store(request: Request) -> ObjectStore:
    """The S3 object store, made on first use (a boto3 client is slow to make)."""
    state = request.app.state
    if getattr(state, "store", None) is None:
        state.store = ObjectStore(aws.s3_client(state.settings), state.settings.artifact_bucket)
    store: ObjectStore = state.store
    return store


StoreDep = Annotated[ObjectStore, Depends(get_store)]


def get_build_queue(request: Request) -> BuildQueue:
    """Where uploaded sources are queued to be built: the worker's Celery queue."""
    state = request.app.state
    if getattr(state, "build_queue", None) is None:
        state.build_queue = CeleryQueue(state.settings)
    queue: BuildQueue = state.build_queue
    return queue


BuildQueueDep = Annotated[BuildQueue, Depends(get_build_queue)]
