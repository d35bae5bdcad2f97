from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from laambda.domain.app_name import APP_NAME_RULE, app_name_problem


class AppCreate(BaseModel):
    name: str = Field(description=APP_NAME_RULE)
    role: str | None = Field(default=None, description="IAM role ARN the functions run as")
    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    architecture: Literal["x86_64", "arm64"] | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, name: str) -> str:
        if (problem := app_name_problem(name)) is not None:
            raise ValueError(problem)
        return name


class AppRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    region: str
    role_arn: str
    runtime: str | None
    architecture: str
    created_at: datetime
    git_url: str | None = None
