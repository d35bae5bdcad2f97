"""Signing in and out: the one-time link, the sign-in page (an API token works too), and
the API endpoints behind `laambda dashboard` (links) and `laambda sessions` (list, end all)."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from laambda.api.deps import CurrentUser, SessionDep, SettingsDep, TokenDep, scope_refusal
from laambda.api.schemas.app import APP_NAME_PATTERN
from laambda.errors import NotAuthenticated
from laambda.services.sign_in import sign_in_service
from laambda.services.user import user_service
from laambda.web.deps import COOKIE, FormViewerDep
from laambda.web.view import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
api_router = APIRouter(prefix="/dashboard", tags=["dashboard"])  # under /v1, as the API

# the sign-in form has no session yet: a random value in a cookie and in the form must match
# (OWASP's "double submit cookie"), so another site cannot sign a browser in as someone else
SIGN_IN_COOKIE = "laambda_signin"


class SignInLink(BaseModel):
    path: str
    expires_in_minutes: int


class SessionRead(BaseModel):
    """A live dashboard session, and the API token that opened it (it ends with it)."""

    id: int
    created_at: datetime
    expires_at: datetime
    token_name: str
    token_prefix: str


class SessionsEnded(BaseModel):
    ended: int


@api_router.post("/sign-in-links", status_code=201)
def create_sign_in_link(
    session: SessionDep,
    _user: CurrentUser,  # refuses a deploy token: it may not sign in
    token: TokenDep,
    settings: SettingsDep,
    # not nullable: a query string cannot say null, and the schema then says what is sent
    app: Annotated[str, Query(pattern=f"^$|{APP_NAME_PATTERN}", max_length=30)] = "",
) -> SignInLink:
    """A one-time dashboard sign-in path (`/sign-in/<token>`) for the caller; `app` opens
    that app's page. The CLI prefixes it with the API's URL. The session it starts ends when
    the token this request is signed with is revoked or expires."""
    link = sign_in_service.create_link(session, token, settings=settings)
    suffix = f"?next=/apps/{app}" if app else ""
    return SignInLink(
        path=f"/sign-in/{link}{suffix}", expires_in_minutes=settings.dashboard_link_minutes
    )


@api_router.get("/sessions")
def list_sessions(session: SessionDep, user: CurrentUser) -> list[SessionRead]:
    """Your live dashboard sessions, oldest first, with the API token each one ends with."""
    return [
        SessionRead(
            id=row.id,
            created_at=row.created_at,
            expires_at=row.expires_at,
            token_name=api_token.name,
            token_prefix=api_token.prefix,
        )
        for row, api_token in sign_in_service.list_for(session, user)
    ]


@api_router.delete("/sessions")
def end_sessions(session: SessionDep, user: CurrentUser) -> SessionsEnded:
    """Sign out of the dashboard everywhere: every session and unused sign-in link of yours
    ends; your API tokens stay (revoking one ends only the sessions it opened)."""
    return SessionsEnded(ended=sign_in_service.end_all(session, user))


def safe_next(target: str | None) -> str:
    """Only a path on this site (never `//other.host` or `https://…`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _signed_in(request: Request, token: str, target: str, hours: int) -> RedirectResponse:
    response = RedirectResponse(safe_next(target), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=hours * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/")
    return response


def _sign_in_page(
    request: Request, target: str, *, message: str | None = None, status_code: int = 200
) -> Response:
    nonce = secrets.token_urlsafe(16)
    context = {"next": safe_next(target), "nonce": nonce, "message": message, "user": None}
    response = render(request, "signin.html", context, status_code=status_code)
    response.set_cookie(
        SIGN_IN_COOKIE, nonce, max_age=1800, httponly=True, samesite="strict", path="/"
    )
    return response


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/") -> Response:
    return _sign_in_page(request, next)


@router.post("/sign-in")
def sign_in_with_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    cookie = request.cookies.get(SIGN_IN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf):
        return _sign_in_page(
            request,
            next,
            message="the sign-in form expired or came from another site: try again",
            status_code=403,
        )
    try:
        row = user_service.resolve(session, token.strip())
    except NotAuthenticated:
        return _sign_in_page(
            request,
            next,
            message="that is not a valid API token: use the one `laambda login` was given, "
            "or run `laambda dashboard` for a sign-in link",
            status_code=401,
        )
    if row.scope is not None:  # a deploy token: as the API says it (api/deps.py)
        refusal = scope_refusal(session, row)
        return _sign_in_page(request, next, message=refusal.message, status_code=403)
    session_token = sign_in_service.start(session, row, settings=settings)
    return _signed_in(request, session_token, next, settings.dashboard_session_hours)


@router.get("/sign-in/{token}")
def sign_in_with_link(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    next: str = "/",
) -> Response:
    try:
        _, session_token = sign_in_service.redeem_link(session, token, settings=settings)
    except NotAuthenticated as exc:
        return _sign_in_page(request, next, message=exc.message, status_code=401)
    return _signed_in(request, session_token, next, settings.dashboard_session_hours)


@router.post("/sign-out")
def sign_out(viewer: FormViewerDep, session: SessionDep) -> Response:
    sign_in_service.end(session, viewer.token)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
