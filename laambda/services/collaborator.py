"""Collaborators: the users who may change and push an app (Heroku's `access`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.db.models import App, Collaborator, User
from laambda.errors import Conflict, InvalidInput, NotFound
from laambda.services.audit import audit
from laambda.services.user import user_service


class CollaboratorService:
    def list(self, session: Session, app: App) -> list[User]:
        query = select(User).join(Collaborator).where(Collaborator.app_id == app.id)
        return list(session.scalars(query.order_by(User.email)))

    def add(self, session: Session, app: App, email: str, *, actor: User) -> User:
        user = user_service.get_by_email(session, email)
        if session.get(Collaborator, (app.id, user.id)) is not None:
            raise Conflict(f"{user.email} is already a collaborator of '{app.name}'")
        session.add(Collaborator(app_id=app.id, user_id=user.id))
        audit.record(session, actor, action="access.add", app=app.name, email=user.email)
        session.flush()
        return user

    def remove(self, session: Session, app: App, email: str, *, actor: User) -> None:
        user = user_service.get_by_email(session, email)
        row = session.get(Collaborator, (app.id, user.id))
        if row is None:
            raise NotFound(f"{user.email} is not a collaborator of '{app.name}'")
        if app.owner_id == user.id:
            raise InvalidInput(
                f"{user.email} owns '{app.name}' and stays its collaborator: transfer the app "
                f"first (`laambda apps:transfer NEW_OWNER -a {app.name}`)"
            )
        if len(self.list(session, app)) == 1:
            raise InvalidInput(f"{user.email} is the last collaborator of '{app.name}'")
        session.delete(row)
        audit.record(session, actor, action="access.remove", app=app.name, email=user.email)
        session.flush()


collaborator_service = CollaboratorService()
