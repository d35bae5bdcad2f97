"""Dashboard sign-in: one-time links and browser sessions.

A link (from `laambda dashboard`) is good once and for a few minutes; using it, or an API
token typed into the sign-in page, starts a session. Only SHA-256 hashes of link and session
tokens are stored (as for API tokens), and signing out deletes the session's row, so a copied
cookie stops working too. The dashboard's CSRF token lives in laambda/web/csrf.py.

A link and a session hold the API token that made them (the one that asked for the link, or
the one typed in): revoking it deletes them (a cascading foreign key, so every way a token
is deleted is covered), and once it expires they are refused, as GitHub and Heroku end the
sessions of a revoked OAuth authorization. `end_all` signs a user out everywhere.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.base import utcnow
from laambda.db.models import ApiToken, User, WebSession
from laambda.errors import NotAuthenticated
from laambda.services.audit import audit
from laambda.services.user import hash_token

LINK, SESSION = "link", "session"


def _token_live() -> ColumnElement[bool]:
    """The joined API token has not expired (a revoked one took its rows with it). It is
    joined by its primary key, so checking it at each request costs one indexed lookup."""
    return or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow())


def _live(kind: str) -> ColumnElement[bool]:
    """An unexpired row of this kind whose API token (joined) is live too."""
    return (WebSession.kind == kind) & (WebSession.expires_at > utcnow()) & _token_live()


def _live_token(kind: str, token: str) -> ColumnElement[bool]:
    """The live row (see `_live`) of `token`."""
    return (WebSession.token_hash == hash_token(token)) & _live(kind)


class SignInService:
    def create_link(self, session: Session, api_token: ApiToken, *, settings: Settings) -> str:
        """A one-time sign-in token for the user of `api_token` (the token that asked for
        it, which the session it starts will hold), valid `dashboard_link_minutes`."""
        lifetime = timedelta(minutes=settings.dashboard_link_minutes)
        return self._issue(session, api_token, LINK, lifetime)

    def redeem_link(self, session: Session, token: str, *, settings: Settings) -> tuple[User, str]:
        """(user, session token) for a link used for the first time within its minutes.

        Raises NotAuthenticated for a used, expired or unknown link, or one whose API token
        was revoked or has expired since."""
        row = session.scalar(
            select(WebSession)
            .join(ApiToken, ApiToken.id == WebSession.api_token_id)
            .where(_live_token(LINK, token))
            .with_for_update(of=WebSession)
        )
        if row is None:
            raise NotAuthenticated(
                "this sign-in link was already used or has expired: "
                "run `laambda dashboard` for a new one"
            )
        api_token = session.get_one(ApiToken, row.api_token_id)
        session.delete(row)
        return session.get_one(User, row.user_id), self.start(session, api_token, settings=settings)

    def start(self, session: Session, api_token: ApiToken, *, settings: Settings) -> str:
        """A session token for the user of `api_token`, who proved who they are with it
        (typed in, or through a link it asked for); the session ends with that token."""
        self._forget_expired(session)
        user = session.get_one(User, api_token.user_id)
        audit.record(session, user, action="dashboard.sign_in", token=api_token.prefix)
        lifetime = timedelta(hours=settings.dashboard_session_hours)
        return self._issue(session, api_token, SESSION, lifetime)

    def user_for(self, session: Session, token: str) -> User | None:
        """The user of a live session token; None when it is unknown, ended or expired, or
        its API token was revoked or has expired."""
        query = (
            select(User)
            .join(WebSession, WebSession.user_id == User.id)
            .join(ApiToken, ApiToken.id == WebSession.api_token_id)
            .where(_live_token(SESSION, token))
        )
        return session.scalar(query)

    def list_for(self, session: Session, user: User) -> list[tuple[WebSession, ApiToken]]:
        """The user's live dashboard sessions, oldest first, each with the API token that
        opened it."""
        query = (
            select(WebSession, ApiToken)
            .join(ApiToken, ApiToken.id == WebSession.api_token_id)
            .where(WebSession.user_id == user.id, _live(SESSION))
            .order_by(WebSession.id)
        )
        return [(row, api_token) for row, api_token in session.execute(query)]

    def end(self, session: Session, token: str) -> None:
        session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))

    def end_all(self, session: Session, user: User) -> int:
        """Sign `user` out everywhere: every dashboard session and unused sign-in link of
        theirs ends (their API tokens stay). Returns how many sessions were live."""
        live = session.scalar(
            select(func.count())
            .select_from(WebSession)
            .where(
                WebSession.user_id == user.id,
                WebSession.kind == SESSION,
                WebSession.expires_at > utcnow(),
            )
        )
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        audit.record(session, user, action="dashboard.sign_out_everywhere", sessions=live)
        return int(live or 0)

    def _issue(self, session: Session, api_token: ApiToken, kind: str, lifetime: timedelta) -> str:
        token = secrets.token_urlsafe(32)
        session.add(
            WebSession(
                user_id=api_token.user_id,
                api_token_id=api_token.id,
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
