"""Users and their API tokens. A token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from laambda.db.base import utcnow
from laambda.db.models import ApiToken, App, Pipeline, User
from laambda.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from laambda.services.audit import audit

TOKEN_PREFIX = "lmb_"
# what an app-scoped token may do: start builds of its app and read them (api/deps.py)
DEPLOY_SCOPE = "deploy"


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

    def emails(self, session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
        """User id -> email for the ids given (None skipped; a deleted user's id is absent)."""
        ids = {user_id for user_id in user_ids if user_id is not None}
        if not ids:
            return {}
        rows = session.execute(select(User.id, User.email).where(User.id.in_(ids))).all()
        return {int(user_id): str(email) for user_id, email in rows}

    def all(self, session: Session) -> list[User]:
        return list(session.scalars(select(User).order_by(User.id)))

    def delete(self, session: Session, email: str, *, actor: User) -> None:
        """Remove a user (an admin's act). Their credentials go with them: API tokens (and
        the dashboard sessions and links those opened), SSH keys, collaborations; what they
        did stays in history (builds, releases, the activity trail keep the row, not them).
        Conflict while they own an app (review apps included) or a pipeline, naming each
        and how to transfer it: an ownerless one could be destroyed, shared or steered by
        admins only. InvalidInput for the actor themselves; NotFound for nobody."""
        user = self.get_by_email(session, email)
        if user.id == actor.id:
            raise InvalidInput("you cannot delete yourself")
        apps = sorted(session.scalars(select(App.name).where(App.owner_id == user.id)))
        pipelines = sorted(
            session.scalars(select(Pipeline.name).where(Pipeline.owner_id == user.id))
        )
        owned: list[str] = []
        ways: list[str] = []
        if apps:
            owned.append(f"app{'s' if len(apps) > 1 else ''} {', '.join(apps)}")
            ways.append("`laambda apps:transfer NEW_OWNER -a APP`")
        if pipelines:
            owned.append(f"pipeline{'s' if len(pipelines) > 1 else ''} {', '.join(pipelines)}")
            ways.append("`laambda pipelines:transfer NEW_OWNER -p PIPELINE`")
        if owned:
            raise Conflict(
                f"{user.email} owns {' and '.join(owned)}: transfer each first "
                f"({', '.join(ways)}) or destroy it"
            )
        audit.record(session, actor, action="user.delete", email=user.email)
        session.delete(user)
        session.flush()

    def create_token(
        self,
        session: Session,
        user: User,
        *,
        name: str,
        app: App | None = None,
        expires_in: timedelta | None = None,
    ) -> tuple[ApiToken, str]:
        """A new token of `user` and the token itself (shown once; only its hash is kept).
        With `app`, a deploy token: through the API it may only start builds of that app and
        read them (the caller has checked that `user` may push the app); as a build runs the
        uploaded code with the app's config, it is as sensitive as the app's config vars.
        `expires_in`: refused from then on; None: until revoked."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(
            user_id=user.id,
            name=name,
            token_hash=hash_token(token),
            prefix=token[:8],
            app_id=app.id if app is not None else None,
            scope=DEPLOY_SCOPE if app is not None else None,
            expires_at=utcnow() + expires_in if expires_in is not None else None,
        )
        session.add(row)
        session.flush()
        scoped = {"scope": row.scope, "expires_at": _stamp(row.expires_at)} if app else {}
        audit.record(
            session,
            user,
            action="token.create",
            app=app.name if app else None,
            name=name,
            prefix=row.prefix,
            **scoped,
        )
        return row, token

    def list_tokens(self, session: Session, user: User) -> list[ApiToken]:
        query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
        return list(session.scalars(query))

    def find_token(self, session: Session, user: User, token: str) -> ApiToken | None:
        """`user`'s token whose whole value is `token`, matched by its hash as `resolve`
        matches a bearer token (only the hash and the 8-character prefix are kept, so a
        pasted leaked token can be found though no listing shows it); None when none is."""
        query = select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.token_hash == hash_token(token)
        )
        return session.scalar(query)

    def app_names(self, session: Session, tokens: Sequence[ApiToken]) -> dict[int, str]:
        """The names of the apps `tokens` are scoped to, by app id."""
        ids = {row.app_id for row in tokens if row.app_id is not None}
        if not ids:
            return {}
        rows = session.execute(select(App.id, App.name).where(App.id.in_(ids))).all()
        return {int(app_id): str(name) for app_id, name in rows}

    def revoke_token(
        self,
        session: Session,
        user: User,
        token_id: int,
        *,
        in_use: ApiToken | None = None,
        current: bool = False,
    ) -> None:
        """Revoke one of `user`'s tokens. `in_use` is the token the request is signed with:
        revoking it signs the caller out (and may lock out the only admin), so it is refused
        (Conflict) unless `current` says the caller means it. NotFound for another's token."""
        row = session.get(ApiToken, token_id)
        if row is None or row.user_id != user.id:
            raise NotFound(f"token {token_id} does not exist")
        if in_use is not None and row.id == in_use.id and not current:
            others = [
                t for t in self.list_tokens(session, user) if t.id != row.id and t.scope is None
            ]
            after = (
                "you keep your other tokens"
                if others
                else "you have no other token: only an admin (`laambda users:create`) or "
                "`laambda admin create-token EMAIL` on the server can give you one"
            )
            raise Conflict(
                f"token {row.id} '{row.name}' ({row.prefix}…) is the one this request is "
                f"signed with: revoking it signs you out, and {after}; to revoke it anyway "
                "pass ?current=true (`laambda tokens:revoke` asks first)"
            )
        audit.record(session, user, action="token.delete", name=row.name, prefix=row.prefix)
        session.delete(row)
        session.flush()

    def resolve(self, session: Session, token: str) -> ApiToken:
        """The token row (its user loaded) a bearer token is; NotAuthenticated when it belongs
        to nobody or has expired. What a scoped token may do is decided by the caller
        (api/deps.py)."""
        query = (
            select(ApiToken)
            .options(joinedload(ApiToken.user))
            .where(ApiToken.token_hash == hash_token(token))
        )
        row = session.scalar(query)
        if row is None:
            raise NotAuthenticated("invalid token: log in again with `laambda login`")
        if row.expires_at is not None and row.expires_at <= utcnow():
            raise NotAuthenticated(
                f"this token ({row.prefix}…, '{row.name}') expired on "
                f"{_stamp(row.expires_at)}: create a new one with `laambda tokens:create`"
            )
        return row

    def authenticate(self, session: Session, token: str) -> User:
        """The user a full (not app-scoped) token belongs to; NotAuthenticated when it belongs
        to nobody, has expired, or is a deploy token (which may not act as its user)."""
        row = self.resolve(session, token)
        if row.scope is not None:
            raise NotAuthenticated(
                "this is a deploy token: it may only deploy its app; use a full token"
            )
        return row.user


def _stamp(moment: datetime | None) -> str | None:
    """A moment for people and the activity trail: "2026-03-01 12:00 UTC"."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if moment is not None else None


user_service = UserService()
