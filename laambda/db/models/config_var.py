from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from laambda.db.base import Model


class ConfigVar(Model):
    """The app's current config var; the value is encrypted (the database never holds plaintext)."""

    __tablename__ = "config_vars"

    app_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
