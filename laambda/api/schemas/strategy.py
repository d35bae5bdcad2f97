from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from laambda.api.schemas.request import RequestBody
from laambda.domain.strategy import (
    MAX_ERRORS,
    MAX_MINUTES,
    MAX_PERCENT,
    MAX_SECONDS,
    MIN_PERCENT,
    longest_window,
)


class DeployStrategyRead(BaseModel):
    """How the app's releases reach `live` (domain/strategy.py)."""

    strategy: str  # "all-at-once" or "canary"
    percent: int | None = None  # the share of traffic on the new versions, 1..99
    seconds: int | None = None  # the canary window
    max_errors: int | None = None  # Errors + Throttles tolerated during the window
    description: str


# what the document promises (domain/strategy.strategy enforces it, with messages that say
# what is allowed): all-at-once alone, or canary with percent and one window, minutes or seconds
_RULES: dict[str, Any] = {
    "oneOf": [
        {
            "properties": {"strategy": {"const": "all-at-once"}},
            "not": {
                "anyOf": [
                    {"required": [field]}
                    for field in ("percent", "minutes", "seconds", "max_errors")
                ]
            },
        },
        {
            "properties": {"strategy": {"const": "canary"}},
            "required": ["percent"],
            "oneOf": [
                {"required": ["minutes"], "not": {"required": ["seconds"]}},
                {"required": ["seconds"], "not": {"required": ["minutes"]}},
            ],
        },
    ]
}


def _range(low: int, high: int) -> Any:
    return Field(default=None, json_schema_extra={"minimum": low, "maximum": high})


class DeployStrategyUpdate(RequestBody):
    """`all-at-once`, or `canary` with percent, the window (minutes or seconds) and max_errors
    (default 0). Checked by domain/strategy.strategy, whose 422 names the allowed values."""

    model_config = ConfigDict(json_schema_extra=_RULES)

    strategy: str = Field(json_schema_extra={"enum": ["all-at-once", "canary"]})
    percent: int | SkipJsonSchema[None] = _range(MIN_PERCENT, MAX_PERCENT)
    minutes: int | SkipJsonSchema[None] = _range(1, MAX_MINUTES)
    seconds: int | SkipJsonSchema[None] = _range(1, MAX_SECONDS)
    max_errors: int | SkipJsonSchema[None] = _range(0, MAX_ERRORS)


def window_limits(api: FastAPI) -> None:
    """Make the OpenAPI document say the longest window this installation accepts: the
    window must end PUSH_MARGIN_SECONDS before LAAMBDA_PUSH_LOCK_TIMEOUT (a setting, read from
    api.state.settings when the document is asked for, not known when the model is declared)."""
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        longest = longest_window(api.state.settings.push_lock_timeout)
        document = generate()  # FastAPI caches it: changed in place
        fields = document["components"]["schemas"]["DeployStrategyUpdate"]["properties"]
        fields["seconds"]["maximum"] = longest
        fields["minutes"]["maximum"] = longest // 60
        return document

    api.openapi = openapi  # type: ignore[method-assign]
