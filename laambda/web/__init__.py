"""The dashboard: server-rendered pages beside the API (issue 14), and the offline /docs.

May import: laambda.web, laambda.api (its dependencies, presenters and schemas: the dashboard
is built on the API), laambda.services and everything below. Never worker/, cli/ or receiver/.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from laambda.web import actions, auth, logs, pages, pipelines
from laambda.web.docs import mount_docs
from laambda.web.view import HERE


def mount_dashboard(api: FastAPI) -> None:
    """Add the dashboard's pages, its static files under /static, and /docs to `api` (its one
    API route, /v1/dashboard/sign-in-links, is added with the API's: `auth.api_router`)."""
    api.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (auth, pages, actions, logs, pipelines):
        api.include_router(module.router)
    mount_docs(api)
