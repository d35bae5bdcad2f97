"""SSH public keys that identify a user to the git receiver."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.db.models import SshKey, User
from laambda.domain.ssh_key import KeyProblem, parse_public_key
from laambda.errors import Conflict, InvalidInput, NotFound
from laambda.services.audit import audit


class KeyService:
    def add(self, session: Session, user: User, public_key: str, *, name: str | None) -> SshKey:
        try:
            parsed = parse_public_key(public_key)
        except KeyProblem as exc:
            raise InvalidInput(str(exc)) from None
        if session.scalar(select(SshKey).where(SshKey.fingerprint == parsed.fingerprint)):
            raise Conflict(f"key {parsed.fingerprint} is already registered")
        key = SshKey(
            user_id=user.id,
            name=name or parsed.comment or parsed.key_type,
            fingerprint=parsed.fingerprint,
            public_key=parsed.openssh,
        )
        session.add(key)
        session.flush()
        audit.record(session, user, action="key.add", fingerprint=parsed.fingerprint)
        return key

    def list(self, session: Session, user: User) -> list[SshKey]:
        return list(
            session.scalars(select(SshKey).where(SshKey.user_id == user.id).order_by(SshKey.id))
        )

    def remove(self, session: Session, user: User, ident: str) -> None:
        """Remove a key by its fingerprint or its name."""
        for key in self.list(session, user):
            if ident in (key.fingerprint, key.name):
                audit.record(session, user, action="key.remove", fingerprint=key.fingerprint)
                session.delete(key)
                session.flush()
                return
        raise NotFound(f"you have no key '{ident}'")

    def owner(self, session: Session, fingerprint: str) -> User | None:
        """The user a key belongs to (for the git receiver), or None."""
        return session.scalar(select(User).join(SshKey).where(SshKey.fingerprint == fingerprint))


key_service = KeyService()
