from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from laambda.db.base import CreatedMixin, IdMixin, Model


class EventSource(IdMixin, CreatedMixin, Model):
    """What invokes one Procfile entry's `live` alias; the database is the source of truth and
    every release applies these rows to AWS (domain/event_source.py parses `source`)."""

    __tablename__ = "event_sources"
    __table_args__ = (UniqueConstraint("app_id", "function", "source"),)

    app_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("apps.id", ondelete="CASCADE"), index=True
    )
    function: Mapped[str] = mapped_column(String(64))  # the Procfile entry, e.g. "create"
    kind: Mapped[str] = mapped_column(String(16))  # sqs, kinesis, dynamodb, schedule, http
    source: Mapped[str] = mapped_column(String(2048))  # canonical SOURCE
    batch_size: Mapped[int | None] = mapped_column(Integer)
    url: Mapped[str | None] = mapped_column(String(2048))  # http: the function URL AWS gave
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
