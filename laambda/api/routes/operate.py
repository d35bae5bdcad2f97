"""Operating functions: invoke `live`, read logs, read metrics (all straight from AWS)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query

from laambda.api.cloud import CloudDep
from laambda.api.deps import AppName, CurrentUser, SessionDep
from laambda.api.schemas.operate import (
    FunctionMetricsRead,
    InvokeCreate,
    InvokeRead,
    LogLineRead,
    LogsRead,
    MetricsRead,
)
from laambda.domain.function import function_name
from laambda.domain.observe import Cursor, parse_since
from laambda.services.app import app_service
from laambda.services.operate import operate_service

# what a duration or an ISO 8601 time is made of (parse_since says which it is)
SINCE_PATTERN = r"^[0-9A-Za-z:+. -]{1,64}$"

router = APIRouter(prefix="/apps/{app}", tags=["operate"])


@router.post("/functions/{name}/invoke")
def invoke(
    app: AppName,
    name: str,
    body: InvokeCreate,
    session: SessionDep,
    user: CurrentUser,
    cloud: CloudDep,
) -> InvokeRead:
    """`{"payload": {...}, "log": true}` -> `{"function": "create", "function_name":
    "thumbs-create", "status_code": 200, "executed_version": "7", "function_error": null,
    "result": <the function's answer>, "log": "START RequestId…"}`. A function that raised
    still answers 200, with `function_error` set ("Unhandled") and its error as `result`.
    404 FunctionNotFound (unknown, or not yet live), 422/502 AwsRefused."""
    row = app_service.get_for(session, user, app)
    invoked = operate_service.invoke(
        session, row, name, payload=body.payload, tail=body.log, observer=cloud.observer(row.region)
    )
    invocation = invoked.invocation
    return InvokeRead(
        function=invoked.entry,
        function_name=function_name(row.name, invoked.entry),
        status_code=invocation.status_code,
        executed_version=invocation.executed_version,
        function_error=invocation.function_error,
        result=invoked.result,
        log=invocation.log_tail,
    )


@router.get("/logs")
def logs(
    app: AppName,
    session: SessionDep,
    user: CurrentUser,
    cloud: CloudDep,
    function: str | None = Query(default=None, description="a Procfile entry; all when absent"),
    since: str = Query(
        default="1h",
        description="30s, 15m, 1h, 2d, 1w or an ISO 8601 time",
        pattern=SINCE_PATTERN,
    ),
    next_token: str | None = Query(default=None, description="the cursor of the last answer"),
    limit: int = Query(default=1000, ge=1, le=10_000),
) -> LogsRead:
    """`GET /v1/apps/thumbs/logs?function=create&since=1h` -> `{"lines": [{"time": "…",
    "function": "create", "stream": "…", "message": "…", "text": "2026-11-28T15:04:05.123000
    +00:00 app[create]: …"}], "next_token": "…", "more": false}`, oldest first, at most
    `limit` lines. To follow (`--tail`), ask again with `next_token` (since is then ignored):
    only lines not yet answered come back. `more` true: ask again at once."""
    row = app_service.get_for(session, user, app)
    page = operate_service.logs(
        session,
        row,
        entry=function,
        since=parse_since(since, now=datetime.now(UTC)),
        cursor=Cursor.decode(next_token) if next_token else None,
        limit=limit,
        observer=cloud.observer(row.region),
    )
    return LogsRead(
        lines=[
            LogLineRead(
                time=line.time,
                function=line.function,
                stream=line.stream,
                message=line.message.rstrip("\n"),
                text=line.heroku(),
            )
            for line in page.lines
        ],
        next_token=page.cursor.encode(),
        more=page.more,
    )


@router.get("/metrics")
def metrics(
    app: AppName,
    session: SessionDep,
    user: CurrentUser,
    cloud: CloudDep,
    function: str | None = Query(default=None, description="a Procfile entry; all when absent"),
    since: str = Query(
        default="1h",
        description="30s, 15m, 1h, 2d, 1w or an ISO 8601 time",
        pattern=SINCE_PATTERN,
    ),
) -> MetricsRead:
    """`GET /v1/apps/thumbs/metrics?since=1h` -> `{"since": "…", "until": "…", "functions":
    [{"name": "create", "function_name": "thumbs-create", "invocations": 12, "errors": 1,
    "throttles": 0, "duration_avg_ms": 41.5, "duration_p99_ms": 120.0}]}`: totals over the
    window from CloudWatch; durations are null without invocations (or without a p99)."""
    row = app_service.get_for(session, user, app)
    until = datetime.now(UTC)
    # CloudWatch keeps metrics of a function name for months: an app of a destroyed one's
    # name shows none of the old app's
    start = max(parse_since(since, now=until), row.created_at)
    found = operate_service.metrics(
        session,
        row,
        entry=function,
        since=start,
        until=until,
        observer=cloud.observer(row.region),
    )
    return MetricsRead(
        since=start,
        until=until,
        functions=[
            FunctionMetricsRead(
                name=entry,
                function_name=function_name(row.name, entry),
                invocations=round(values.invocations),
                errors=round(values.errors),
                throttles=round(values.throttles),
                duration_avg_ms=values.duration_avg_ms,
                duration_p99_ms=values.duration_p99_ms,
            )
            for entry, values in found
        ],
    )
