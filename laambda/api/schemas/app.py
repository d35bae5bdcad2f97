from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from laambda.api.schemas.error import NO_NUL
from laambda.api.schemas.request import RequestBody
from laambda.domain.app_name import APP_NAME_RULE, app_name_problem
from laambda.domain.function import Architecture
from laambda.domain.regions import REGIONS
from laambda.domain.runtime import ALL_RUNTIMES

# the same names as app_name.APP_NAME without two dashes in a row, as JSON Schema can say it
APP_NAME_PATTERN = "^[a-z](-?[a-z0-9])+$"
_NO_NUL: dict[str, Any] = {"json_schema_extra": NO_NUL}


class AppPlace(RequestBody):
    """Where a new app sits in a pipeline (services/pipeline.py): `stage` defaults to the one
    its name suggests, `branch` to `main` for a production app when no app of the pipeline
    follows it."""

    name: str = Field(min_length=1, max_length=100, description="the pipeline", **_NO_NUL)
    stage: Literal["development", "staging", "production"] | None = None
    branch: str | None = Field(
        default=None, min_length=1, max_length=255, description="the branch it follows", **_NO_NUL
    )


# what Lambda accepts today (the document is made when the API starts)
RUNTIME_IDENTIFIERS = sorted(
    runtime.identifier for runtime in ALL_RUNTIMES if runtime.block_update > date.today()
)


class AppCreate(RequestBody):
    # the rules are checked by app_name_problem, whose message says them in words; the
    # document states them too, so that clients (and Schemathesis) know valid names
    name: str = Field(
        description=APP_NAME_RULE,
        json_schema_extra={"pattern": APP_NAME_PATTERN, "minLength": 3, "maxLength": 30},
    )
    role: str | None = Field(
        default=None,
        max_length=2048,
        description="IAM role ARN the functions run as; one LAAMBDA_ALLOWED_ROLES permits "
        "(default: the platform's default role)",
        json_schema_extra={"pattern": "^arn:[^\\x00]*$"},
    )
    region: str | None = Field(
        default=None,
        max_length=30,
        description="an AWS region Lambda runs in (us-east-1 …)",
        json_schema_extra={"enum": [*sorted(REGIONS), None]},
    )
    architecture: Architecture | None = None
    runtime: str | None = Field(
        default=None,
        max_length=30,
        description="pin a Lambda runtime (python3.12 …) instead of detecting it on each "
        "build; promotion refuses an artifact built for another",
        json_schema_extra={"enum": [*RUNTIME_IDENTIFIERS, None]},
    )
    pipeline: AppPlace | None = Field(default=None, description="join this pipeline's stage")

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
    pipeline: str | None = None
    stage: str | None = None
    branch: str | None = Field(default=None, description="the pipeline branch it follows")


class AppUpdate(RequestBody):
    """Where the app sits: only the fields given change. `pipeline`: move it there (null:
    take it out); `stage`; `branch` (null: follow no branch)."""

    pipeline: str | None = Field(default=None, min_length=1, max_length=100, **_NO_NUL)
    stage: Literal["development", "staging", "production"] | None = None
    branch: str | None = Field(default=None, min_length=1, max_length=255, **_NO_NUL)


class AppTransfer(RequestBody):
    email: str = Field(
        min_length=3, max_length=254, description="the new owner's email", json_schema_extra=NO_NUL
    )


class AppDestroyed(BaseModel):
    name: str
    removed: list[str] = Field(description="what was removed, in AWS and on the platform")
