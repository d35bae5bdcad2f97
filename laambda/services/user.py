"""Users and their API tokens. A token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from laambda.db.models import ApiToken, App, User
from laambda.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from laambda.services.audit import audit

TOKEN_PREFIX = "lmb_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserService:
    def create(
        self, session: Session, email: str, *, is_admin: bool = False, actor: User | None = None
    ) -> tuple[User, str]:
        """Create a user with a first token; returns the user and the token (shown once)."""
        email = email.strip().lower()
        if "@" not in email or len(email) > 254:
            raise InvalidInput(f"'{email}' is not an email address")
        if session.scalar(select(User).where(User.email == email)) is not None:
            raise Conflict(f"user '{email}' already exists")
        user = User(email=email, is_admin=is_admin)
        session.add(user)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"user '{email}' already exists") from None
        audit.record(session, actor or user, action="user.create", email=email, admin=is_admin)
        return user, self.create_token(session, user, name="first token")[1]

    def get_by_email(self, session: Session, email: str) -> User:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise NotFound(f"user '{email}' does not exist")
        return user

    def all(self, session: Session) -> list[User]:
        return list(session.scalars(select(User).order_by(User.id)))

    def delete(self, session: Session, email: str, *, actor: User) -> None:
        user = self.get_by_email(session, email)
        if user.id == actor.id:
            raise InvalidInput("you cannot delete yourself")
        owned = list(session.scalars(select(App.name).where(App.owner_id == user.id)))
        if owned:
            # an app without an owner could be destroyed or shared by admins only
            raise Conflict(
                f"{user.email} owns {', '.join(sorted(owned))}: transfer each first "
                "(`laambda apps:transfer NEW_OWNER -a APP`) or destroy it"
            )
        audit.record(session, actor, action="user.delete", email=user.email)
        session.delete(user)
        session.flush()

    def create_token(self, session: Session, user: User, *, name: str) -> tuple[ApiToken, str]:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(user_id=user.id, name=name, token_hash=hash_token(token), prefix=token[:8])
        session.add(row)
        session.flush()
        audit.record(session, user, action="token.create", name=name, prefix=row.prefix)
        return row, token

    def list_tokens(self, session: Session, user: User) -> list[ApiToken]:
        query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
        return list(session.scalars(query))

    def revoke_token(self, session: Session, user: User, token_id: int) -> None:
        row = session.get(ApiToken, token_id)
        if row is None or row.user_id != user.id:
            raise NotFound(f"token {token_id} does not exist")
        audit.record(session, user, action="token.delete", name=row.name, prefix=row.prefix)
        session.delete(row)
        session.flush()

    def authenticate(self, session: Session, token: str) -> User:
        """The user a bearer token belongs to; NotAuthenticated when it belongs to nobody."""
        query = select(User).join(ApiToken).where(ApiToken.token_hash == hash_token(token))
        user = session.scalar(query)
        if user is None:
            raise NotAuthenticated("invalid token: log in again with `laambda login`")
        return user


user_service = UserService()
