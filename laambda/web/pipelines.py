"""The dashboard's pipeline pages: every pipeline the viewer may see, and one pipeline's
stages with each app's branch, live release and commit (what `laambda pipelines:info` shows).
Read through the service and presentation the API uses."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from laambda.api.deps import SessionDep, SettingsDep
from laambda.api.routes.pipelines import read_pipeline
from laambda.domain.pipeline import Stage
from laambda.services.pipeline import pipeline_service
from laambda.web.deps import ViewerDep
from laambda.web.view import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/pipelines")
def pipelines_page(
    request: Request, viewer: ViewerDep, session: SessionDep, settings: SettingsDep
) -> Response:
    rows = [
        read_pipeline(session, row, settings)
        for row in pipeline_service.list_for(session, viewer.user)
    ]
    context = {"user": viewer.user, "csrf": viewer.csrf, "pipelines": rows}
    return render(request, "pipelines.html", context)


@router.get("/pipelines/{name}")
def pipeline_page(
    name: str, request: Request, viewer: ViewerDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """The stages in promotion order, each with its apps; empty stages are shown too."""
    pipeline = read_pipeline(
        session, pipeline_service.get_for(session, viewer.user, name), settings
    )
    stages = [
        (stage.value, [app for app in pipeline.apps if app.stage == stage.value]) for stage in Stage
    ]
    context = {"user": viewer.user, "csrf": viewer.csrf, "pipeline": pipeline, "stages": stages}
    return render(request, "pipeline.html", context)
