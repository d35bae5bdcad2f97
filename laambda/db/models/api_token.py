from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String
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

    user: Mapped[User] = relationship(lazy="raise")
