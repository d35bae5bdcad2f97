"""Apps and who may touch them.

Two roles per app (Heroku's): its owner, who may destroy it, transfer it and manage its
collaborators, and its collaborators, who may push, change config and resources and roll
back. The owner is a collaborator too; admins may do everything. Every app lookup for a user
goes through `get_for` (collaborators) or `get_owned` (the owner and admins).
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.base import utcnow
from laambda.db.models import App, Collaborator, User
from laambda.domain.app_name import app_name_problem
from laambda.domain.function import ARCHITECTURES
from laambda.domain.regions import region_problem
from laambda.domain.runtime import check_runtime
from laambda.domain.tenancy import role_problem
from laambda.errors import AppExists, AppNotFound, BuildFailed, InvalidInput, PermissionDenied
from laambda.services.audit import audit
from laambda.services.user import user_service


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
        """A new app owned by `user`. InvalidInput names what is wrong with the name, role
        (LAAMBDA_ALLOWED_ROLES, unless the user is an admin), region (AWS Lambda's list),
        architecture or pinned runtime (one Lambda still accepts); AppExists when the name
        is taken."""
        if (problem := app_name_problem(name)) is not None:
            raise InvalidInput(problem)
        role = role or settings.default_role
        if not role:
            raise InvalidInput(
                "an IAM role is needed: pass --role arn:aws:iam::ACCOUNT:role/NAME "
                "or set LAAMBDA_DEFAULT_ROLE on the server"
            )
        if not role.startswith("arn:"):
            raise InvalidInput(
                f"role '{role[:200]}' is not an ARN (arn:aws:iam::ACCOUNT:role/NAME)"
            )
        if not user.is_admin and (
            problem := role_problem(
                role, allowed=settings.allowed_roles, default_role=settings.default_role
            )
        ):
            raise PermissionDenied(problem)
        region = region or settings.aws_region
        if (problem := region_problem(region)) is not None:
            raise InvalidInput(problem)
        if architecture is not None and architecture not in ARCHITECTURES:
            raise InvalidInput(f"architecture must be one of {', '.join(ARCHITECTURES)}")
        if runtime is not None:
            try:
                check_runtime(runtime, today=utcnow().date(), source="--runtime")
            except BuildFailed as refused:
                raise InvalidInput(refused.message) from None
        if session.scalar(select(exists().where(App.name == name))):
            raise AppExists(f"app '{name}' already exists; choose another name")
        app = App(
            name=name,
            role_arn=role,
            region=region,
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

    def all(self, session: Session) -> list[App]:
        """Every app, by name."""
        return list(session.scalars(select(App).order_by(App.name)))

    def lock(self, session: Session, app_id: int) -> App | None:
        """The app by id with its row locked until the transaction ends, as every change of
        its builds and releases locks it; None once it is destroyed."""
        return session.get(App, app_id, with_for_update=True)

    def list_for(self, session: Session, user: User) -> list[App]:
        query = select(App).order_by(App.name)
        if not user.is_admin:
            query = query.join(Collaborator).where(Collaborator.user_id == user.id)
        return list(session.scalars(query))

    def get_for(self, session: Session, user: User, name: str, *, lock: bool = False) -> App:
        """The app, if the user may change and push it (a collaborator or an admin); `lock`
        serializes changes that make releases. AppNotFound, or PermissionDenied saying who
        may add the user."""
        app = self._get(session, name, lock=lock)
        if not self.may_access(session, user, app):
            raise PermissionDenied(
                f"permission denied: you are not a collaborator of '{name}'; its owner or an "
                f"admin may add you (`laambda access:add {user.email} -a {name}`)"
            )
        return app

    def get_owned(
        self, session: Session, user: User, name: str, *, to: str, lock: bool = False
    ) -> App:
        """The app, if the user owns it or is an admin; `to` says what they asked to do
        ("destroy it"), for the refusal: "only the owner of 'thumbs' (a@x) or an admin may
        destroy it". Non-collaborators are refused as by `get_for`."""
        app = self.get_for(session, user, name, lock=lock)
        if user.is_admin or app.owner_id == user.id:
            return app
        owner = self.owner_email(session, app)
        named = f" ({owner})" if owner else " (nobody: its owner's account was deleted)"
        raise PermissionDenied(f"only the owner of '{name}'{named} or an admin may {to}")

    def owner_email(self, session: Session, app: App) -> str | None:
        if app.owner_id is None:
            return None
        owner = session.get(User, app.owner_id)
        return owner.email if owner is not None else None

    def may_access(self, session: Session, user: User, app: App) -> bool:
        if user.is_admin:
            return True
        query = select(
            exists().where(Collaborator.app_id == app.id, Collaborator.user_id == user.id)
        )
        return bool(session.scalar(query))

    def transfer(self, session: Session, user: User, name: str, *, email: str) -> App:
        """Make the user `email` the app's owner (a collaborator too, if not yet); the old
        owner stays a collaborator. Owner or admin only; NotFound for an unknown user."""
        app = self.get_owned(session, user, name, to="transfer it", lock=True)
        new_owner = user_service.get_by_email(session, email)
        previous = self.owner_email(session, app)
        if app.owner_id == new_owner.id:
            raise InvalidInput(f"{new_owner.email} already owns '{name}'")
        if session.get(Collaborator, (app.id, new_owner.id)) is None:
            session.add(Collaborator(app_id=app.id, user_id=new_owner.id))
        app.owner_id = new_owner.id
        audit.record(
            session, user, action="app.transfer", app=name, to=new_owner.email, previous=previous
        )
        session.flush()
        return app

    def _get(self, session: Session, name: str, *, lock: bool) -> App:
        query = select(App).where(App.name == name)
        if lock:
            query = query.with_for_update()
        app = session.scalar(query)
        if app is None:
            raise AppNotFound(f"app '{name}' does not exist")
        return app


app_service = AppService()
