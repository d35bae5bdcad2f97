from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from laambda.db.base import CreatedMixin, IdMixin, Model


class Pipeline(IdMixin, CreatedMixin, Model):
    """Apps of one codebase in stages (development, staging, production), as Heroku's
    pipelines: one git remote (`/<pipeline>`) whose branches deploy to the apps that follow
    them, build-once promotion downstream, and review apps for the other branches."""

    __tablename__ = "pipelines"

    name: Mapped[str] = mapped_column(String(30), unique=True)
    owner_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # whether a push of a branch no app follows creates a review app `<pipeline>-<branch>`
    review_apps: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # a review app not pushed to for this long is destroyed; None: kept until its branch goes
    review_ttl_seconds: Mapped[int | None] = mapped_column(Integer)
    # the review apps' config, {key: value} as JSON encrypted with the settings' key
    review_config_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
