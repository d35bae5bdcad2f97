from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from laambda.api.schemas.request import RequestBody


class ReleaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    kind: str
    description: str
    status: str
    build_id: int | None
    rollback_of: int | None
    release_phase: bool = True
    user: str | None = None
    function_settings: dict[str, Any]
    function_versions: dict[str, Any] | None
    error: str | None
    # set on an abandoned release whose changes a newer one carries: follow that one
    superseded_by: int | None = None
    created_at: datetime
    applied_at: datetime | None
    # a canary release (status "canary" while its window runs): the share of `live` traffic
    # on its versions, the window, the errors it tolerates, and how it was decided to end
    canary_percent: int | None = None
    canary_started_at: datetime | None = None
    canary_ends_at: datetime | None = None
    canary_max_errors: int | None = None
    canary_decision: str | None = None
    canary_reason: str | None = None
    # Errors + Throttles of its versions at the worker's last read; None before the first
    canary_errors: int | None = None
    # a pending release made while an earlier release's canary runs: what it waits for,
    # "waiting for the canary of v7 to end (at 10:42:07 UTC; …)"; None otherwise
    waiting: str | None = None


class ReleaseDetail(ReleaseRead):
    config_keys: list[str]
    log: str


class RollbackRequest(RequestBody):
    version: int | None = None
    # the Procfile's `release` entry runs before `live` moves only when asked (Heroku's rule)
    run_release_phase: bool = False


class ChangeRead(BaseModel):
    """The answer to a change: the release it made, or none and why."""

    release: ReleaseRead | None
    detail: str
