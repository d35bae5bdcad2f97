from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from laambda.domain.app_name import APP_NAME_RULE, app_name_problem


class AppCreate(BaseModel):
    name: str = Field(description=APP_NAME_RULE)
    role: str | None = Field(
        default=None,
        max_length=2048,
        description="IAM role ARN the functions run as; one LAAMBDA_ALLOWED_ROLES permits "
        "(default: the platform's default role)",
    )
    region: str | None = Field(
        default=None, max_length=30, description="an AWS region Lambda runs in (us-east-1 …)"
    )
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
    owner: str | None = Field(
        default=None, description="the owner's email: who may destroy, transfer and share it"
    )
    git_url: str | None = None


class AppTransfer(BaseModel):
    email: str = Field(min_length=3, max_length=254, description="the new owner's email")


class AppDestroyed(BaseModel):
    name: str
    removed: list[str] = Field(description="what was removed, in AWS and on the platform")
