from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laambda.db.base import CreatedMixin, IdMixin, Model
from laambda.db.models.user import User


class ApiToken(IdMixin, CreatedMixin, Model):
    """A bearer token. Only its SHA-256 is kept; the token itself is shown once."""

    __tablename__ = "api_tokens"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    # an app-scoped token acts on this app only, and only as its scope allows; None: the user's
    app_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("apps.id", ondelete="CASCADE"), index=True
    )
    # "deploy" (start builds of `app_id`, read their logs) or None (everything its user may)
    scope: Mapped[str | None] = mapped_column(String(20))
    # refused from then on; None: until revoked
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="raise")
