from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from laambda.db.base import CreatedMixin, IdMixin, Model


class App(IdMixin, CreatedMixin, Model):
    """An application: one Procfile, one artifact, many Lambda functions named <app>-<entry>."""

    __tablename__ = "apps"
    __table_args__ = (UniqueConstraint("pipeline_id", "branch"),)

    name: Mapped[str] = mapped_column(String(30), unique=True)
    region: Mapped[str] = mapped_column(String(30))
    role_arn: Mapped[str] = mapped_column(String(2048))
    runtime: Mapped[str | None] = mapped_column(String(30))
    architecture: Mapped[str | None] = mapped_column(String(10))
    owner_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # the pipeline the app is a stage of (None: on its own)
    pipeline_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("pipelines.id", ondelete="SET NULL"), index=True
    )
    # "development", "staging", "production" or "review" (see domain/pipeline.py)
    stage: Mapped[str | None] = mapped_column(String(20))
    # the branch of the pipeline's repository whose pushes deploy this app
    branch: Mapped[str | None] = mapped_column(String(255))
    # made by a push of `branch` to a pipeline with review apps; destroyed with the branch
    review_app: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # when code last reached the app (push, upload or promotion): review apps' TTL counts from it
    last_deployed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # how a release reaches `live` (domain/strategy.py): "all-at-once", or "canary" with the
    # share of traffic (1..99 %), the window (seconds) and the errors it tolerates
    deploy_strategy: Mapped[str] = mapped_column(
        String(20), default="all-at-once", server_default="all-at-once"
    )
    canary_percent: Mapped[int | None] = mapped_column(Integer)
    canary_seconds: Mapped[int | None] = mapped_column(Integer)
    canary_max_errors: Mapped[int | None] = mapped_column(Integer)
