"""The dashboard: server-rendered pages beside the API (issue 14), and the offline /docs."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from laambda.web import actions, auth, logs, pages
from laambda.web.docs import mount_docs
from laambda.web.view import HERE


def mount_dashboard(api: FastAPI) -> None:
    """Add the dashboard's pages, its static files under /static, and /docs to `api`."""
    api.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    api.include_router(auth.api_router)
    for module in (auth, pages, actions, logs):
        api.include_router(module.router)
    mount_docs(api)
