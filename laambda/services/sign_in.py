"""Dashboard sign-in: one-time links and browser sessions.

A link (from `laambda dashboard`) is good once and for a few minutes; using it, or an API
token typed into the sign-in page, starts a session. Only SHA-256 hashes of link and session
tokens are stored (as for API tokens), and signing out deletes the session's row, so a copied
cookie stops working too. The dashboard's CSRF token lives in laambda/web/csrf.py.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.base import utcnow
from laambda.db.models import User, WebSession
from laambda.errors import NotAuthenticated
from laambda.services.audit import audit
from laambda.services.user import hash_token

LINK, SESSION = "link", "session"


class SignInService:
    def create_link(self, session: Session, user: User, *, settings: Settings) -> str:
        """A one-time sign-in token for `user`, valid `dashboard_link_minutes`."""
        lifetime = timedelta(minutes=settings.dashboard_link_minutes)
        return self._issue(session, user, LINK, lifetime)

    def redeem_link(self, session: Session, token: str, *, settings: Settings) -> tuple[User, str]:
        """(user, session token) for a link used for the first time within its minutes.

        Raises NotAuthenticated for a used, expired or unknown link."""
        row = session.scalar(
            select(WebSession)
            .where(WebSession.token_hash == hash_token(token), WebSession.kind == LINK)
            .with_for_update()
        )
        if row is None or row.expires_at <= utcnow():
            raise NotAuthenticated(
                "this sign-in link was already used or has expired: "
                "run `laambda dashboard` for a new one"
            )
        user = session.get_one(User, row.user_id)
        session.delete(row)
        return user, self.start(session, user, settings=settings)

    def start(self, session: Session, user: User, *, settings: Settings) -> str:
        """A session token for a user who proved who they are."""
        self._forget_expired(session)
        audit.record(session, user, action="dashboard.sign_in")
        lifetime = timedelta(hours=settings.dashboard_session_hours)
        return self._issue(session, user, SESSION, lifetime)

    def user_for(self, session: Session, token: str) -> User | None:
        """The user of a live session token; None when it is unknown, ended or expired."""
        query = (
            select(User)
            .join(WebSession, WebSession.user_id == User.id)
            .where(
                WebSession.token_hash == hash_token(token),
                WebSession.kind == SESSION,
                WebSession.expires_at > utcnow(),
            )
        )
        return session.scalar(query)

    def end(self, session: Session, token: str) -> None:
        session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))

    def _issue(self, session: Session, user: User, kind: str, lifetime: timedelta) -> str:
        token = secrets.token_urlsafe(32)
        session.add(
            WebSession(
                user_id=user.id,
                kind=kind,
                token_hash=hash_token(token),
                expires_at=utcnow() + lifetime,
            )
        )
        session.flush()
        return token

    def _forget_expired(self, session: Session) -> None:
        session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))


sign_in_service = SignInService()
