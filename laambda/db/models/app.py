from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from laambda.db.base import CreatedMixin, IdMixin, Model


class App(IdMixin, CreatedMixin, Model):
    """An application: one Procfile, one artifact, many Lambda functions named <app>-<entry>."""

    __tablename__ = "apps"

    name: Mapped[str] = mapped_column(String(30), unique=True)
    region: Mapped[str] = mapped_column(String(30))
    role_arn: Mapped[str] = mapped_column(String(2048))
    runtime: Mapped[str | None] = mapped_column(String(30))
    architecture: Mapped[str | None] = mapped_column(String(10))
    owner_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
