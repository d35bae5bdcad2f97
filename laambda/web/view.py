"""Rendering pages: the Jinja2 environment, its filters, and the page route class that turns
the API's failure nouns into HTML (a sign-in redirect for 401, an error page otherwise)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from laambda.domain.function import architecture_or_default
from laambda.domain.status import BuildStatus, ReleaseStatus
from laambda.errors import LaambdaError, NotAuthenticated

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

# status -> (icon, tone): the icon and the word carry the meaning; colour only repeats it
STATUS = {
    "succeeded": ("✓", "ok"),
    "failed": ("✗", "bad"),
    "abandoned": ("✗", "bad"),
    "cancelled": ("⊘", "muted"),
    "pending": ("…", "busy"),
    "applying": ("↻", "busy"),
    "canary": ("◐", "busy"),  # live shares traffic with it while its window runs
    "running": ("↻", "busy"),
}
# a build or release in one of these states will not change: its page stops following it
FINISHED: frozenset[str] = BuildStatus.ENDED | ReleaseStatus.ENDED
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def ago(stamp: datetime | None, now: datetime | None = None) -> str:
    """'3 minutes ago', '2 days ago'; '' for no time."""
    if stamp is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - stamp).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"


def duration(start: datetime | None, end: datetime | None) -> str:
    """'1 m 05 s', '4.2 s'; '' when the build has not started or ended."""
    if start is None or end is None:
        return ""
    seconds = (end - start).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} m {int(seconds % 60):02d} s"


def status_icon(status: str) -> str:
    return STATUS.get(status, ("•", "muted"))[0]


def status_tone(status: str) -> str:
    return STATUS.get(status, ("•", "muted"))[1]


def iso(stamp: datetime | None) -> str:
    return stamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if stamp else ""


templates.env.filters.update(
    ago=ago,
    architecture=architecture_or_default,
    iso=iso,
    status_icon=status_icon,
    status_tone=status_tone,
)
templates.env.globals.update(duration=duration, finished=FINISHED)


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    """A page, never cached (pages can show revealed config values), never framed (a framed
    "Roll back" button could be clicked through a disguise), running only its own scripts."""
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    return response


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(target)}", status_code=303)


class PageRoute(APIRoute):
    """A dashboard route: what the API answers as JSON errors, pages answer as HTML."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except NotAuthenticated:
                return sign_in_redirect(request)
            except LaambdaError as exc:
                viewer = getattr(request.state, "viewer", None)
                context = {
                    "message": exc.message,
                    "status": exc.status_code,
                    "user": viewer.user if viewer else None,
                    "csrf": viewer.csrf if viewer else "",
                }
                return render(request, "error.html", context, status_code=exc.status_code)

        return page
