"""Who may do what: users (admins), tokens, SSH keys and an app's collaborators."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from laambda.api.deps import AdminUser, AppName, CurrentUser, RowId, SessionDep, TokenDep
from laambda.api.schemas.access import (
    CollaboratorCreate,
    KeyCreate,
    KeyRead,
    TokenCreate,
    TokenCreated,
    TokenFind,
    TokenRead,
    UserCreate,
    UserCreated,
    UserRead,
)
from laambda.db.models import ApiToken
from laambda.services.app import app_service
from laambda.services.collaborator import collaborator_service
from laambda.services.key import key_service
from laambda.services.user import user_service

router = APIRouter()


@router.get("/me", tags=["users"])
def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


@router.get("/users", tags=["users"])
def list_users(session: SessionDep, _admin: AdminUser) -> list[UserRead]:
    return [UserRead.model_validate(u) for u in user_service.all(session)]


@router.post("/users", tags=["users"], status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, session: SessionDep, admin: AdminUser) -> UserCreated:
    user, token = user_service.create(session, body.email, is_admin=body.is_admin, actor=admin)
    return UserCreated(**UserRead.model_validate(user).model_dump(), token=token)


@router.delete("/users/{email}", tags=["users"], status_code=status.HTTP_204_NO_CONTENT)
def delete_user(email: str, session: SessionDep, admin: AdminUser) -> None:
    user_service.delete(session, email, actor=admin)


def _token_read(row: ApiToken, apps: dict[int, str]) -> TokenRead:
    read = TokenRead.model_validate(row)
    return read.model_copy(update={"app": apps.get(row.app_id) if row.app_id else None})


@router.get("/tokens", tags=["tokens"])
def list_tokens(session: SessionDep, user: CurrentUser) -> list[TokenRead]:
    """Your tokens: name, prefix, and for a deploy token its app, scope and expiry."""
    rows = user_service.list_tokens(session, user)
    apps = user_service.app_names(session, rows)
    return [_token_read(row, apps) for row in rows]


@router.post("/tokens", tags=["tokens"], status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, session: SessionDep, user: CurrentUser) -> TokenCreated:
    """A token shown once. With `app` and scope 'deploy', it may only start builds of that
    app and read them (for CI); only the app's collaborators (or an admin) may make one."""
    app = app_service.get_for(session, user, body.app) if body.app is not None else None
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    row, token = user_service.create_token(
        session, user, name=body.name, app=app, expires_in=expires
    )
    apps = {app.id: app.name} if app is not None else {}
    return TokenCreated(**_token_read(row, apps).model_dump(), token=token)


@router.post("/tokens/find", tags=["tokens"])
def find_token(body: TokenFind, session: SessionDep, user: CurrentUser) -> list[TokenRead]:
    """Your token whose whole value is `token` (matched by its hash, as signing in is): a
    list of it, or empty. `laambda tokens:revoke` finds a pasted leaked token this way."""
    row = user_service.find_token(session, user, body.token)
    rows = [row] if row is not None else []
    apps = user_service.app_names(session, rows)
    return [_token_read(r, apps) for r in rows]


@router.delete("/tokens/{token_id}", tags=["tokens"], status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(
    token_id: RowId,
    session: SessionDep,
    user: CurrentUser,
    token: TokenDep,
    current: Annotated[
        bool, Query(description="true to revoke the very token this request is signed with")
    ] = False,
) -> None:
    """Revoke one of your tokens. The token this request is signed with is refused (409)
    unless `?current=true`: revoking it signs you out, maybe for good."""
    user_service.revoke_token(session, user, token_id, in_use=token, current=current)


@router.get("/keys", tags=["keys"])
def list_keys(session: SessionDep, user: CurrentUser) -> list[KeyRead]:
    return [KeyRead.model_validate(k) for k in key_service.list(session, user)]


@router.post("/keys", tags=["keys"], status_code=status.HTTP_201_CREATED)
def add_key(body: KeyCreate, session: SessionDep, user: CurrentUser) -> KeyRead:
    return KeyRead.model_validate(key_service.add(session, user, body.public_key, name=body.name))


@router.delete("/keys/{ident:path}", tags=["keys"], status_code=status.HTTP_204_NO_CONTENT)
def remove_key(ident: str, session: SessionDep, user: CurrentUser) -> None:
    """Remove a key by fingerprint (SHA256:…) or name."""
    key_service.remove(session, user, ident)


@router.get("/apps/{app}/collaborators", tags=["access"])
def list_collaborators(app: AppName, session: SessionDep, user: CurrentUser) -> list[UserRead]:
    users = collaborator_service.list(session, app_service.get_for(session, user, app))
    return [UserRead.model_validate(u) for u in users]


@router.post("/apps/{app}/collaborators", tags=["access"], status_code=status.HTTP_201_CREATED)
def add_collaborator(
    app: AppName, body: CollaboratorCreate, session: SessionDep, user: CurrentUser
) -> UserRead:
    """Let a user push and change the app: its owner or an admin only."""
    row = app_service.get_owned(session, user, app, to="add collaborators to it")
    return UserRead.model_validate(collaborator_service.add(session, row, body.email, actor=user))


@router.delete(
    "/apps/{app}/collaborators/{email}", tags=["access"], status_code=status.HTTP_204_NO_CONTENT
)
def remove_collaborator(
    app: AppName,
    email: Annotated[str, Path(max_length=254)],
    session: SessionDep,
    user: CurrentUser,
) -> None:
    """Take a user's access away: the owner or an admin may remove anyone but the owner
    (transfer the app first); a collaborator may remove only themselves."""
    row = app_service.get_for(session, user, app)
    if email.strip().lower() != user.email:
        row = app_service.get_owned(session, user, app, to="remove its collaborators")
    collaborator_service.remove(session, row, email, actor=user)
