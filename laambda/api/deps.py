"""Request dependencies: one session per request, the caller, the cipher and the applier."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import redis
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.crypto import Cipher
from laambda.db.models import User
from laambda.deploy import aws
from laambda.deploy.s3 import ObjectStore
from laambda.errors import NotAuthenticated, PermissionDenied
from laambda.services.applier import ReleaseApplier
from laambda.services.user import user_service

_bearer = HTTPBearer(auto_error=False)


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


def get_current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("missing bearer token: log in with `laambda login`")
    return user_service.authenticate(session, credentials.credentials)


CurrentUser = Annotated[User, Depends(get_current_user)]


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
