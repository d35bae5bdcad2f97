from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laambda.db.base import CreatedMixin, IdMixin, Model
from laambda.db.models.build import Build
from laambda.domain.status import ReleaseStatus


class Release(IdMixin, CreatedMixin, Model):
    """An immutable release (DESIGN.md): a build, a config snapshot and function settings."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("app_id", "version"),)

    app_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("apps.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    build_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("builds.id", ondelete="CASCADE")
    )
    user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    # the whole config, JSON encrypted with the settings' key
    config_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    # {entry name: {"memory": MB, "timeout": s}} for the settings that differ from defaults
    function_settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    rollback_of: Mapped[int | None] = mapped_column(Integer)
    # whether the Procfile's `release` entry runs before `live` moves (off for rollbacks
    # unless asked: Heroku's rule)
    release_phase: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # a ReleaseStatus; changed only by services/release.py
    status: Mapped[str] = mapped_column(String(20), default=ReleaseStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    # an abandoned release overtaken by a newer one that carries all of it: that one's version
    superseded_by: Mapped[int | None] = mapped_column(Integer)
    log: Mapped[str] = mapped_column(Text, default="")
    # {function name: Lambda version}, once deployed
    function_versions: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # a canary release (worker/canary.py): the share of `live` traffic on its versions, its
    # window, the errors it tolerates, {function: version} of its new and of the previous
    # release's versions, and once decided "promote", "abort" or "rollback" and why
    canary_percent: Mapped[int | None] = mapped_column(Integer)
    canary_max_errors: Mapped[int | None] = mapped_column(Integer)
    canary_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    canary_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    canary_versions: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    canary_previous: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    canary_decision: Mapped[str | None] = mapped_column(String(20))
    canary_reason: Mapped[str | None] = mapped_column(Text)
    # Errors + Throttles of the canary's versions at the worker's last read (None before it)
    canary_errors: Mapped[int | None] = mapped_column(Integer)

    build: Mapped[Build | None] = relationship(lazy="raise")
