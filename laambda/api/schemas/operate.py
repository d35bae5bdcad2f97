from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from laambda.api.schemas.request import RequestBody


class LogLineRead(BaseModel):
    time: datetime
    function: str
    stream: str
    message: str
    text: str  # Heroku's format: "2026-11-28T15:04:05.123000+00:00 app[create]: message"


class LogsRead(BaseModel):
    lines: list[LogLineRead]
    next_token: str  # pass back as next_token to get only lines after these
    more: bool  # lines are waiting already: ask again at once rather than after a pause


class InvokeCreate(RequestBody):
    payload: Any = Field(default_factory=dict, description="the event, any JSON value")
    log: bool = Field(default=False, description="return the tail of the invocation's log")


class InvokeRead(BaseModel):
    function: str
    function_name: str
    status_code: int
    executed_version: str | None
    function_error: str | None  # "Unhandled" when the function raised; result holds its error
    result: Any  # the function's answer: parsed JSON, else the raw text
    log: str | None  # the last 4 KB of the log, when asked for


class FunctionMetricsRead(BaseModel):
    name: str
    function_name: str
    invocations: int
    errors: int
    throttles: int
    duration_avg_ms: float | None
    duration_p99_ms: float | None


class MetricsRead(BaseModel):
    since: datetime
    until: datetime
    functions: list[FunctionMetricsRead]
