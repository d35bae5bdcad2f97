from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from laambda.db.base import CreatedMixin, IdMixin, Model
from laambda.domain.status import BuildStatus


class Build(IdMixin, CreatedMixin, Model):
    """One pushed source turned (or not) into a Lambda artifact, with its full log."""

    __tablename__ = "builds"

    app_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("apps.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    # names the build's log stream: ids restart in a fresh database, uids never repeat
    uid: Mapped[uuid.UUID] = mapped_column(Uuid, default=uuid.uuid4, unique=True)
    # a BuildStatus; changed only by services/build.py
    status: Mapped[str] = mapped_column(String(20), default=BuildStatus.PENDING)
    commit: Mapped[str | None] = mapped_column(String(64))
    # the commit an upload named that could not be verified (laambda/services/upload_commit.py);
    # then `commit` is None: the label is shown, never trusted
    commit_label: Mapped[str | None] = mapped_column(String(64))
    source_key: Mapped[str | None] = mapped_column(String(1024))
    artifact_sha256: Mapped[str | None] = mapped_column(String(64))
    artifact_key: Mapped[str | None] = mapped_column(String(1024))
    artifact_size: Mapped[int | None] = mapped_column(BigInteger)
    runtime: Mapped[str | None] = mapped_column(String(30))
    architecture: Mapped[str | None] = mapped_column(String(10))
    procfile: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    # how the source came: "push" (git over ssh), "upload" (a tarball through the API) or
    # "promotion" (nothing built: the artifact of `promoted_from`, an upstream app's build)
    origin: Mapped[str] = mapped_column(String(20), default="push", server_default="push")
    promoted_from: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("builds.id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
