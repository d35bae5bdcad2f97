from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from laambda.db.base import Model


class FunctionCheck(Model):
    """A smoke check of one Procfile entry: the event sent to each new version before
    `live` moves, and the HTTP statusCode its answer must carry (None: any, no error)."""

    __tablename__ = "function_checks"

    app_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[Any] = mapped_column(JSONB)
    expect_status: Mapped[int | None] = mapped_column(Integer)
