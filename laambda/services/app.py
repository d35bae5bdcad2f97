"""Apps and who may touch them. Every app lookup for a user goes through `get_for`."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, Collaborator, User
from laambda.domain.app_name import app_name_problem
from laambda.errors import AppExists, AppNotFound, InvalidInput, PermissionDenied
from laambda.services.audit import audit

ARCHITECTURES = ("x86_64", "arm64")


class AppService:
    def create(
        self,
        session: Session,
        user: User,
        *,
        name: str,
        settings: Settings,
        role: str | None = None,
        region: str | None = None,
        architecture: str | None = None,
        runtime: str | None = None,
    ) -> App:
        if (problem := app_name_problem(name)) is not None:
            raise InvalidInput(problem)
        role = role or settings.default_role
        if not role:
            raise InvalidInput(
                "an IAM role is needed: pass --role arn:aws:iam::ACCOUNT:role/NAME "
                "or set LAAMBDA_DEFAULT_ROLE on the server"
            )
        if not role.startswith("arn:"):
            raise InvalidInput(f"role '{role}' is not an ARN (arn:aws:iam::ACCOUNT:role/NAME)")
        if architecture is not None and architecture not in ARCHITECTURES:
            raise InvalidInput(f"architecture must be one of {', '.join(ARCHITECTURES)}")
        if session.scalar(select(exists().where(App.name == name))):
            raise AppExists(f"app '{name}' already exists; choose another name")
        app = App(
            name=name,
            role_arn=role,
            region=region or settings.aws_region,
            architecture=architecture,
            runtime=runtime,
            owner_id=user.id,
        )
        session.add(app)
        try:
            session.flush()
        except IntegrityError:
            raise AppExists(f"app '{name}' already exists; choose another name") from None
        session.add(Collaborator(app_id=app.id, user_id=user.id))
        audit.record(session, user, action="app.create", app=name)
        session.flush()
        return app

    def list_for(self, session: Session, user: User) -> list[App]:
        query = select(App).order_by(App.name)
        if not user.is_admin:
            query = query.join(Collaborator).where(Collaborator.user_id == user.id)
        return list(session.scalars(query))

    def get_for(self, session: Session, user: User, name: str, *, lock: bool = False) -> App:
        """The app, if the user may change it; `lock` serializes changes that make releases."""
        query = select(App).where(App.name == name)
        if lock:
            query = query.with_for_update()
        app = session.scalar(query)
        if app is None:
            raise AppNotFound(f"app '{name}' does not exist")
        if not self.may_access(session, user, app):
            raise PermissionDenied(f"permission denied: you are not a collaborator of '{name}'")
        return app

    def may_access(self, session: Session, user: User, app: App) -> bool:
        if user.is_admin:
            return True
        query = select(
            exists().where(Collaborator.app_id == app.id, Collaborator.user_id == user.id)
        )
        return bool(session.scalar(query))

    def destroy(self, session: Session, user: User, name: str) -> None:
        app = self.get_for(session, user, name, lock=True)
        audit.record(session, user, action="app.destroy", app=name)
        session.delete(app)
        session.flush()


app_service = AppService()
