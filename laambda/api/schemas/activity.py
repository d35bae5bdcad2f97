from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ActivityRead(BaseModel):
    action: str
    user: str | None
    detail: dict[str, Any]
    created_at: datetime
