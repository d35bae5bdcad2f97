"""Users, tokens, SSH keys and collaborators."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from laambda.api.schemas.error import EMAIL, NO_NUL


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email: str
    is_admin: bool
    created_at: datetime


class UserCreate(BaseModel):
    email: str = Field(min_length=3, max_length=254, json_schema_extra=EMAIL)
    is_admin: bool = False


class UserCreated(UserRead):
    token: str = Field(description="shown once; only its hash is stored")


class TokenCreate(BaseModel):
    name: str = Field(default="cli", min_length=1, max_length=100, json_schema_extra=NO_NUL)
    app: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        json_schema_extra=NO_NUL,
        description="scope the token to this app (with scope 'deploy'); you must be able to "
        "push the app",
    )
    scope: Literal["deploy"] | None = Field(
        default=None,
        description="'deploy': may only start builds of `app` and read them; none: everything "
        "you may do",
    )
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="refused after this many days; none: never"
    )

    @model_validator(mode="after")
    def _scope_needs_app(self) -> TokenCreate:
        if (self.app is None) != (self.scope is None):
            raise ValueError("a deploy token needs both app and scope 'deploy'")
        return self


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    app: str | None = Field(default=None, description="the app a scoped token acts on")
    scope: str | None = None
    expires_at: datetime | None = None


class TokenCreated(TokenRead):
    token: str = Field(description="shown once; only its hash is stored")


class KeyCreate(BaseModel):
    public_key: str = Field(min_length=10, max_length=16384, json_schema_extra=NO_NUL)
    name: str | None = Field(default=None, max_length=200, json_schema_extra=NO_NUL)


class KeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    fingerprint: str
    public_key: str
    created_at: datetime


class CollaboratorCreate(BaseModel):
    email: str = Field(min_length=3, max_length=254, json_schema_extra=NO_NUL)
