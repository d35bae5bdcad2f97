from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from laambda.domain.resources import MEMORY_RANGE, TIMEOUT_RANGE


class FunctionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    function_name: str
    handler: str
    memory: int
    timeout: int
    lambda_version: str | None


class FunctionUpdate(BaseModel):
    memory: int | None = Field(
        default=None, ge=MEMORY_RANGE[0], le=MEMORY_RANGE[1], description="MB"
    )
    timeout: int | None = Field(
        default=None, ge=TIMEOUT_RANGE[0], le=TIMEOUT_RANGE[1], description="seconds"
    )
