"""Users, tokens, SSH keys and collaborators."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email: str
    is_admin: bool
    created_at: datetime


class UserCreate(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    is_admin: bool = False


class UserCreated(UserRead):
    token: str = Field(description="shown once; only its hash is stored")


class TokenCreate(BaseModel):
    name: str = Field(default="cli", min_length=1, max_length=100)


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime


class TokenCreated(TokenRead):
    token: str = Field(description="shown once; only its hash is stored")


class KeyCreate(BaseModel):
    public_key: str = Field(min_length=10, max_length=16384)
    name: str | None = Field(default=None, max_length=200)


class KeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    fingerprint: str
    public_key: str
    created_at: datetime


class CollaboratorCreate(BaseModel):
    email: str = Field(min_length=3, max_length=254)
