"""Who may do what: a key identifies a user, and only an app's collaborators (or an admin)
may push to it or clone it; a pipeline's repository is open to its owner, admins and the
collaborators of any of its apps (a push of a branch an app follows also takes access to that
app, checked by the pre-receive hook). Checked before any data is received."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from laambda.db.models import User
from laambda.db.session import session_scope
from laambda.errors import AppNotFound, NotFound, PermissionDenied
from laambda.services.app import app_service
from laambda.services.key import key_service
from laambda.services.pipeline import pipeline_service


def fingerprint(blob: bytes) -> str:
    """As `ssh-keygen -l` prints it: SHA256 of the key blob, base64 without padding."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class Pusher:
    user_id: int
    email: str


class AccessDenied(Exception):
    pass


class Gate:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def identify(self, key_blob: bytes) -> Pusher | None:
        """The user a public key belongs to, or None for a key nobody registered."""
        with session_scope(self.sessions) as session:
            user = key_service.owner(session, fingerprint(key_blob))
            return Pusher(user.id, user.email) if user is not None else None

    def authorize(self, pusher: Pusher, app_name: str) -> int:
        """The app's id if the pusher may push to it; AccessDenied with the reason otherwise."""
        with session_scope(self.sessions) as session:
            user = session.get_one(User, pusher.user_id)
            try:
                return app_service.get_for(session, user, app_name).id
            except AppNotFound:
                raise AccessDenied(
                    f"app '{app_name}' does not exist; create it with "
                    f"`laambda apps:create {app_name}`"
                ) from None
            except PermissionDenied as denied:
                raise AccessDenied(denied.message) from None

    def authorize_pipeline(self, pusher: Pusher, pipeline: str) -> int:
        """The pipeline's id if the pusher may fetch from and push to its repository."""
        with session_scope(self.sessions) as session:
            user = session.get_one(User, pusher.user_id)
            try:
                return pipeline_service.get_for(session, user, pipeline).id
            except (NotFound, PermissionDenied) as denied:
                raise AccessDenied(denied.message) from None
