from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from laambda.api.schemas.request import RequestBody
from laambda.domain.resources import MEMORY_RANGE, TIMEOUT_RANGE


class FunctionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    function_name: str
    handler: str
    memory: int
    timeout: int
    # the version `live` serves (during a canary: the stable one, still getting most traffic)
    lambda_version: str | None
    # during a canary of this function: the new version and the % of `live`'s invocations it
    # gets (Lambda's AdditionalVersionWeights); None otherwise
    canary_version: str | None = None
    canary_percent: int | None = None


class FunctionUpdate(RequestBody):
    memory: int | None = Field(
        default=None, ge=MEMORY_RANGE[0], le=MEMORY_RANGE[1], description="MB"
    )
    timeout: int | None = Field(
        default=None, ge=TIMEOUT_RANGE[0], le=TIMEOUT_RANGE[1], description="seconds"
    )
