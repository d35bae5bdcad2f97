"""Users, tokens, SSH keys and collaborators."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from laambda.api.schemas.error import EMAIL, NO_NUL
from laambda.api.schemas.request import RequestBody


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email: str
    is_admin: bool
    created_at: datetime


class UserCreate(RequestBody):
    email: str = Field(min_length=3, max_length=254, json_schema_extra=EMAIL)
    is_admin: bool = False


class UserCreated(UserRead):
    token: str = Field(description="shown once; only its hash is stored")


class TokenCreate(RequestBody):
    name: str = Field(default="cli", min_length=1, max_length=100, json_schema_extra=NO_NUL)
    app: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        json_schema_extra=NO_NUL,
        description="makes a deploy token: it may only start builds of this app and read them; "
        "you must be able to push the app",
    )
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="refused after this many days; none: never"
    )


class TokenFind(RequestBody):
    token: str = Field(
        min_length=1,
        max_length=200,
        json_schema_extra=NO_NUL,
        description="a whole token (in the body, so that no URL or log holds it)",
    )


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    app: str | None = Field(default=None, description="the app a deploy token acts on")
    scope: str | None = Field(default=None, description="'deploy', or none: a full token")
    expires_at: datetime | None = None


class TokenCreated(TokenRead):
    token: str = Field(description="shown once; only its hash is stored")


class KeyCreate(RequestBody):
    public_key: str = Field(min_length=10, max_length=16384, json_schema_extra=NO_NUL)
    name: str | None = Field(default=None, max_length=200, json_schema_extra=NO_NUL)


class KeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    fingerprint: str
    public_key: str
    created_at: datetime


class CollaboratorCreate(RequestBody):
    email: str = Field(min_length=3, max_length=254, json_schema_extra=NO_NUL)
