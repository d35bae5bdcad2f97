"""Who is signed in to the dashboard, and the CSRF check every form POST goes through.

Access to apps is NOT decided here: pages call the same services (`app_service.get_for`, …)
the API routes call, so anything the API refuses, a page refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request

from laambda.api.deps import SessionDep, SettingsDep
from laambda.db.models import User
from laambda.errors import NotAuthenticated, PermissionDenied
from laambda.services.sign_in import sign_in_service
from laambda.web.csrf import csrf_ok, csrf_token

COOKIE = "laambda_session"


@dataclass(frozen=True)
class Viewer:
    """The signed-in user, their session token (to end it) and the CSRF token for forms."""

    user: User
    token: str
    csrf: str


def get_viewer(request: Request, session: SessionDep, settings: SettingsDep) -> Viewer:
    token = request.cookies.get(COOKIE)
    user = sign_in_service.user_for(session, token) if token else None
    if token is None or user is None:
        raise NotAuthenticated("sign in to see the dashboard")
    viewer = Viewer(user=user, token=token, csrf=csrf_token(settings.secret_key, token))
    request.state.viewer = viewer  # for the error page's header
    return viewer


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def get_checked_viewer(
    viewer: ViewerDep, settings: SettingsDep, csrf: Annotated[str, Form()] = ""
) -> Viewer:
    """The viewer of a form POST whose CSRF token matches their session's."""
    if not csrf_ok(settings.secret_key, viewer.token, csrf):
        raise PermissionDenied(
            "this form was not sent from a dashboard page (its CSRF token is missing or "
            "wrong): reload the page and try again"
        )
    return viewer


FormViewerDep = Annotated[Viewer, Depends(get_checked_viewer)]
