from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ActivityRead(BaseModel):
    """One change: `action` is `<noun>.<verb>` (app.create, release.config, token.delete,
    event_source.add, build_cache.purge…), `user` who made it (None: the platform), `app`
    the app it touched (None for account-wide changes such as keys and tokens)."""

    action: str
    user: str | None
    app: str | None
    detail: dict[str, Any]
    created_at: datetime
