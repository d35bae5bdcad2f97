"""Event sources of one function: what invokes its `live` alias.

Adding or removing one changes AWS within the request when the function has been released
(the answer's `applied` says so); otherwise the release that creates the function applies it.
If AWS refuses, nothing is stored and the error carries AWS's words.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from laambda.api.cloud import CloudDep
from laambda.api.deps import AppName, CurrentUser, RowId, SessionDep, SettingsDep
from laambda.api.schemas.event_source import EventSourceCreate, EventSourceRead
from laambda.db.models import App, EventSource
from laambda.domain.event_source import parse_source
from laambda.domain.function import function_name
from laambda.domain.tenancy import event_source_problem
from laambda.errors import PermissionDenied
from laambda.services.app import app_service
from laambda.services.event_source import event_source_service

router = APIRouter(prefix="/apps/{app}/functions/{name}/event-sources", tags=["event sources"])


def _read(app: App, row: EventSource) -> EventSourceRead:
    return EventSourceRead(
        id=row.id,
        function=row.function,
        function_name=function_name(app.name, row.function),
        kind=row.kind,
        source=row.source,
        batch_size=row.batch_size,
        url=row.url,
        applied=row.applied_at is not None,
        applied_at=row.applied_at,
        created_at=row.created_at,
    )


@router.get("")
def list_event_sources(
    app: AppName, name: str, session: SessionDep, user: CurrentUser
) -> list[EventSourceRead]:
    """`GET …/functions/create/event-sources` -> `[EventSourceRead, …]`, oldest first:
    `{"id": 1, "function": "create", "function_name": "thumbs-create", "kind": "sqs",
    "source": "arn:aws:sqs:…:jobs", "batch_size": 10, "url": null, "applied": true,
    "applied_at": "…", "created_at": "…"}`. 404 FunctionNotFound for an unknown function."""
    row = app_service.get_for(session, user, app)
    return [_read(row, source) for source in event_source_service.list_for(session, row, name)]


@router.post("", status_code=status.HTTP_201_CREATED)
def add_event_source(
    app: AppName,
    name: str,
    body: EventSourceCreate,
    session: SessionDep,
    user: CurrentUser,
    cloud: CloudDep,
    settings: SettingsDep,
    response: Response,
) -> EventSourceRead:
    """`{"source": "arn:aws:sqs:…:jobs", "batch_size": 10}` -> 201 EventSourceRead; 200 when
    the source was there with another batch size (updated). Sources: SQS, Kinesis and
    DynamoDB-stream ARNs, `schedule:rate(5 minutes)`, `schedule:cron(0 12 * * ? *)`, `http`
    (public URL, its address in `url`), `http:aws_iam`. 422 InvalidInput for a malformed
    source, 409 EventSourceExists when it is there already, 422/502 AwsRefused when AWS says
    no (e.g. the queue does not exist). 403 PermissionDenied for a queue or stream
    LAAMBDA_ALLOWED_EVENT_SOURCE_ARNS does not permit (admins may attach any)."""
    locked = app_service.get_for(session, user, app, lock=True)
    spec = parse_source(body.source, batch_size=body.batch_size)
    if spec.arn is not None and not user.is_admin:
        allowed = settings.allowed_event_source_arns
        if (problem := event_source_problem(spec.arn, allowed=allowed)) is not None:
            raise PermissionDenied(problem)
    added = event_source_service.add(
        session,
        locked,
        name,
        source=body.source,
        batch_size=body.batch_size,
        triggers=cloud.triggers(locked.region),
        user=user,
    )
    if not added.created:
        response.status_code = status.HTTP_200_OK
    return _read(locked, added.row)


@router.delete("")
def remove_event_source(
    app: AppName,
    name: str,
    session: SessionDep,
    user: CurrentUser,
    cloud: CloudDep,
    source: str | None = Query(default=None, description="the source as added"),
    clear: bool = Query(default=False, alias="all", description="remove every one (clear)"),
) -> list[EventSourceRead]:
    """`DELETE …/event-sources?source=SOURCE` removes one; `?all=true` removes every one
    (clear). Answers the removed sources, `[EventSourceRead, …]`. 404 EventSourceNotFound
    names the sources the function has."""
    locked = app_service.get_for(session, user, app, lock=True)
    triggers = cloud.triggers(locked.region)
    if clear:
        removed = event_source_service.clear(session, locked, name, triggers=triggers, user=user)
    else:
        removed = [
            event_source_service.remove(
                session, locked, name, source=source, triggers=triggers, user=user
            )
        ]
    return [_read(locked, row) for row in removed]


@router.delete("/{source_id}")
def remove_event_source_by_id(
    app: AppName,
    name: str,
    source_id: RowId,
    session: SessionDep,
    user: CurrentUser,
    cloud: CloudDep,
) -> EventSourceRead:
    """`DELETE …/event-sources/{id}` removes one by its id -> the removed EventSourceRead."""
    locked = app_service.get_for(session, user, app, lock=True)
    removed = event_source_service.remove(
        session,
        locked,
        name,
        source_id=source_id,
        triggers=cloud.triggers(locked.region),
        user=user,
    )
    return _read(locked, removed)
