from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from laambda.api.schemas.request import RequestBody


class CheckRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    event: Any
    expect_status: int | None


class CheckUpdate(RequestBody):
    """The event sent to the function's new version, and the HTTP statusCode its answer must
    carry (None: any answer without a function error is healthy)."""

    event: Any = Field(description="any JSON value, sent as the invocation's payload")
    expect_status: int | None = Field(default=None, ge=100, le=599)
