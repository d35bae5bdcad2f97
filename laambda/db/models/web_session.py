from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from laambda.db.base import CreatedMixin, IdMixin, Model


class WebSession(IdMixin, CreatedMixin, Model):
    """A dashboard sign-in: a one-time link (kind "link", minutes) or a browser session
    (kind "session", hours). Only the SHA-256 of its token is kept, as for API tokens;
    signing out deletes the row, so a copied cookie stops working too.

    Each row records the API token that opened it (typed into the sign-in page, or the one
    that asked for the link): revoking that token deletes the row (the foreign key cascades),
    and once the token expires the session is refused (services/sign_in.py `user_for`), as
    GitHub and Heroku end the sessions of a revoked OAuth authorization."""

    __tablename__ = "web_sessions"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    api_token_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
