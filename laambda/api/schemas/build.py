from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class BuildRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    uid: uuid.UUID
    status: str
    commit: str | None
    # an upload's commit the server could not verify (shown, never trusted)
    commit_label: str | None = None
    origin: str = "push"
    runtime: str | None
    architecture: str | None
    artifact_sha256: str | None
    artifact_size: int | None
    procfile: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class BuildDetail(BuildRead):
    log: str


class BuildCreated(BuildRead):
    """An uploaded source, queued: follow `links.stream` (server-sent events) to its outcome."""

    links: dict[str, str]
