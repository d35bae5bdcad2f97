from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DeployStrategyRead(BaseModel):
    """How the app's releases reach `live` (domain/strategy.py)."""

    strategy: str  # "all-at-once" or "canary"
    percent: int | None = None  # the share of traffic on the new versions, 1..99
    seconds: int | None = None  # the canary window
    max_errors: int | None = None  # Errors + Throttles tolerated during the window
    description: str


class DeployStrategyUpdate(BaseModel):
    """`all-at-once`, or `canary` with percent, the window (minutes or seconds) and max_errors
    (default 0); ranges are checked with a message naming the allowed ones."""

    model_config = ConfigDict(extra="forbid")

    strategy: str = Field(max_length=20)
    percent: int | None = None
    minutes: int | None = None
    seconds: int | None = None
    max_errors: int | None = None
