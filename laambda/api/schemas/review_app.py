from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from laambda.api.schemas.error import NO_NUL
from laambda.api.schemas.request import RequestBody


class ReviewAppsChange(RequestBody):
    """Turn a pipeline's review apps on or off."""

    enabled: bool
    ttl: str | None = Field(
        default=None,
        max_length=20,
        description="destroy a review app not pushed to for this long: 3d, 12h, 90m, 2w "
        "(with enabled=true; none: kept until its branch is deleted)",
        json_schema_extra=NO_NUL,
    )


class ReviewAppRead(BaseModel):
    name: str
    branch: str | None
    created_at: datetime
    last_deployed_at: datetime | None
    last_deploy: str | None = Field(
        default=None,
        description="how the last push went: succeeded, failed, cancelled, abandoned (its "
        "build or release), or deploying while its build or release is under way; null "
        "before any push",
    )
    expires_at: datetime | None


class ReviewAppsRead(BaseModel):
    pipeline: str
    enabled: bool
    ttl_seconds: int | None
    apps: list[ReviewAppRead]


class ReviewAppDestroyed(BaseModel):
    name: str
    branch: str | None
    removed: list[str]


class ReviewConfigChanged(BaseModel):
    pipeline: str
    changed: list[str]  # the keys set or unset; values are never sent back
