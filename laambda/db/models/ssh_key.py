from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laambda.db.base import CreatedMixin, IdMixin, Model
from laambda.db.models.user import User


class SshKey(IdMixin, CreatedMixin, Model):
    __tablename__ = "ssh_keys"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(100), unique=True)
    public_key: Mapped[str] = mapped_column(Text)

    user: Mapped[User] = relationship(lazy="raise")
