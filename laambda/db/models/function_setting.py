from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from laambda.db.base import Model


class FunctionSetting(Model):
    """Memory and timeout chosen for one Procfile entry; absent means the defaults."""

    __tablename__ = "function_settings"

    app_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    memory: Mapped[int] = mapped_column(Integer)
    timeout: Mapped[int] = mapped_column(Integer)
