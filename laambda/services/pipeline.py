"""Pipelines: apps of one codebase in stages, and the branch each app follows.

A pipeline is seen by its owner, admins, and the collaborators of any of its apps; it is
destroyed and transferred by its owner or an admin. Putting an app in a pipeline, taking it
out, or changing its stage or branch needs both the pipeline's owner (or an admin) and the
app's owner (or an admin): a collaborator of one app must not steer what the pipeline's
promotions deploy, nor move an app someone else owns. An app is in at most one pipeline.

Review apps are made and destroyed by pushes (services/review_app.py) and live and die with
their branch: none of them is added, taken out, moved, or given another stage or branch here.

Branches (Heroku pipelines with GitHub-style branch deploys): an app follows at most one
branch of the pipeline's repository, and a branch is followed by at most one app of the
pipeline. The branch is whatever was given (`--branch`); when none is given, the app that
joins the production stage follows `main` unless another app of the pipeline already does.
An app that follows no branch gets code only by promotion.

Membership changes lock the pipeline's row, so two concurrent changes cannot both take a
branch; app rows are always locked before the pipeline's, so no two changes wait on each
other. Services flush, never commit.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from laambda.db.models import App, Collaborator, Pipeline, User
from laambda.domain.app_name import app_name_problem
from laambda.domain.branch_name import branch_problem
from laambda.domain.pipeline import ASSIGNABLE_STAGES, Stage, stage_rank
from laambda.domain.promotion import infer_stage
from laambda.errors import (
    AppNotFound,
    Conflict,
    InvalidInput,
    PermissionDenied,
    PipelineExists,
    PipelineNotFound,
)
from laambda.objectstore import ObjectStore
from laambda.services.app import app_service
from laambda.services.audit import audit
from laambda.services.teardown import (
    pipeline_repository_path,
    repository_bundle_key,
    repository_owner,
)
from laambda.services.user import user_service

DEFAULT_BRANCH = "main"
REVIEW_APPS_STAY = (
    "review apps live and die with their branch: make an app with apps:create and "
    "pipelines:add it, or promote to one"
)
STAGE_NAMES = ", ".join(stage.value for stage in ASSIGNABLE_STAGES)


# what makes an app a review app that pushes, the TTL and `reviewapps:destroy` may destroy:
# made as one (the flag), still in the review stage, and still in a pipeline. Each is kept by
# this service; all three are asked so that a row changed some other way is never
# destroyed as a review app.
IS_REVIEW_APP = and_(
    App.review_app.is_(True), App.stage == Stage.REVIEW.value, App.pipeline_id.is_not(None)
)


def is_review_app(app: App) -> bool:
    """Whether `app` is a review app (see IS_REVIEW_APP): only those are destroyed by pushes,
    the TTL and `reviewapps:destroy`, and none of them is moved by this service."""
    return bool(app.review_app) and app.stage == Stage.REVIEW and app.pipeline_id is not None


class PipelineService:
    def create(self, session: Session, user: User, *, name: str, data_dir: Path) -> Pipeline:
        """A new pipeline owned by `user`. Its name follows the rules of app names (it names
        the git remote `/pipelines/NAME`): InvalidInput says them; PipelineExists when taken.
        A repository left in `data_dir` by a destroyed pipeline of this name is removed."""
        if (problem := app_name_problem(name)) is not None:
            raise InvalidInput(problem.replace("app name", "pipeline name"))
        if session.scalar(select(exists().where(Pipeline.name == name))):
            raise PipelineExists(f"pipeline '{name}' already exists; choose another name")
        pipeline = Pipeline(name=name, owner_id=user.id)
        session.add(pipeline)
        try:
            session.flush()
        except IntegrityError:
            raise PipelineExists(f"pipeline '{name}' already exists; choose another name") from None
        _remove_repository(data_dir, name)
        audit.record(session, user, action="pipeline.create", pipeline=name)
        return pipeline

    def list_for(self, session: Session, user: User) -> list[Pipeline]:
        """The pipelines the user may see, by name."""
        query = select(Pipeline).order_by(Pipeline.name)
        if not user.is_admin:
            query = query.where(self._visible(user))
        return list(session.scalars(query))

    def get_for(self, session: Session, user: User, name: str, *, lock: bool = False) -> Pipeline:
        """The pipeline, if the user may see it (its owner, an admin, or a collaborator of one
        of its apps); `lock` serializes membership changes. PipelineNotFound otherwise: a
        pipeline one may not see is not said to exist."""
        query = select(Pipeline).where(Pipeline.name == name)
        if not user.is_admin:
            query = query.where(self._visible(user))
        if lock:
            query = query.with_for_update()
        pipeline = session.scalar(query)
        if pipeline is None:
            raise PipelineNotFound(
                f"pipeline '{name}' does not exist (`laambda pipelines` lists yours)"
            )
        return pipeline

    def get_owned(
        self, session: Session, user: User, name: str, *, to: str, lock: bool = False
    ) -> Pipeline:
        """The pipeline, if the user owns it or is an admin; `to` says what they asked to do
        ("destroy it"), for the refusal. PipelineNotFound as `get_for`, else PermissionDenied."""
        pipeline = self.get_for(session, user, name, lock=lock)
        if user.is_admin or pipeline.owner_id == user.id:
            return pipeline
        raise PermissionDenied(f"only the owner of pipeline '{name}' or an admin may {to}")

    def transfer(
        self, session: Session, user: User, name: str, *, email: str
    ) -> tuple[Pipeline, list[str]]:
        """Make the user `email` the pipeline's owner (as `app_service.transfer` does for an
        app, and Heroku's `pipelines:transfer`): its owner or an admin only, so an admin can
        also give an ownerless pipeline an owner. NotFound for an unknown user; InvalidInput
        when they own it already. Its review apps, owned by the pipeline's owner (README,
        "Branches and review apps"), move with it in this transaction: the new owner owns
        them (a collaborator too) and the old one, who had them only as its owner, loses
        them; an `app.transfer` record each. Its other apps keep their owners. Returns the
        pipeline and the names of the review apps moved."""
        pipeline = self.get_owned(session, user, name, to="transfer it", lock=True)
        new_owner = user_service.get_by_email(session, email)
        if pipeline.owner_id == new_owner.id:
            raise InvalidInput(f"{new_owner.email} already owns pipeline '{name}'")
        owner = session.get(User, pipeline.owner_id) if pipeline.owner_id is not None else None
        previous = owner.email if owner is not None else None
        pipeline.owner_id = new_owner.id
        audit.record(
            session,
            user,
            action="pipeline.transfer",
            pipeline=name,
            to=new_owner.email,
            previous=previous,
        )
        reviews = select(App).where(App.pipeline_id == pipeline.id, IS_REVIEW_APP)
        moved = list(session.scalars(reviews.order_by(App.name).with_for_update()))
        for app in moved:
            self._give(session, user, app, new_owner, pipeline=name)
        session.flush()
        return pipeline, [app.name for app in moved]

    def _give(self, session: Session, user: User, app: App, owner: User, *, pipeline: str) -> None:
        """Make `owner` the owner of the review app `app` in place of its old owner."""
        previous = session.get(User, app.owner_id) if app.owner_id is not None else None
        if previous is not None and previous.id != owner.id:
            row = session.get(Collaborator, (app.id, previous.id))
            if row is not None:
                session.delete(row)
        if session.get(Collaborator, (app.id, owner.id)) is None:
            session.add(Collaborator(app_id=app.id, user_id=owner.id))
        app.owner_id = owner.id
        audit.record(
            session,
            user,
            action="app.transfer",
            app=app.name,
            to=owner.email,
            previous=previous.email if previous is not None else None,
            reason="pipelines:transfer",
            pipeline=pipeline,
        )

    def names(self, session: Session, ids: Iterable[int | None]) -> dict[int, str]:
        """Pipeline id -> name for the ids given (None skipped)."""
        wanted = {pipeline_id for pipeline_id in ids if pipeline_id is not None}
        if not wanted:
            return {}
        rows = session.execute(select(Pipeline.id, Pipeline.name).where(Pipeline.id.in_(wanted)))
        return {int(pipeline_id): str(name) for pipeline_id, name in rows.all()}

    def apps(self, session: Session, pipeline: Pipeline) -> list[App]:
        """The pipeline's apps in promotion order: review apps, development, staging,
        production; by name within a stage."""
        rows = session.scalars(select(App).where(App.pipeline_id == pipeline.id))
        return sorted(rows, key=lambda app: (_rank(app.stage), app.name))

    def app_of(self, session: Session, pipeline: Pipeline, name: str) -> App:
        """The app `name` of the pipeline; AppNotFound when the pipeline has no such app."""
        row = session.scalar(select(App).where(App.pipeline_id == pipeline.id, App.name == name))
        if row is None:
            shown = name if len(name) <= 40 and name.isprintable() else f"{name[:40]!r}…"
            raise AppNotFound(f"pipeline '{pipeline.name}' has no app '{shown}'")
        return row

    def of_app(self, session: Session, app: App) -> Pipeline | None:
        return session.get(Pipeline, app.pipeline_id) if app.pipeline_id is not None else None

    def destroy(
        self, session: Session, user: User, name: str, *, data_dir: Path, store: ObjectStore
    ) -> list[str]:
        """Delete the pipeline (its owner or an admin only) and its git repository, on this
        host's disk and its copy in the object store; its apps stay, on their own (the API
        destroys its review apps first: they live only for it). Returns the names of the
        detached apps."""
        pipeline = self.get_owned(session, user, name, to="destroy it")
        members = select(App).where(App.pipeline_id == pipeline.id).order_by(App.id)
        list(session.scalars(members.with_for_update()))
        pipeline = self.get_for(session, user, name, lock=True)
        detached = []
        for app in self.apps(session, pipeline):
            _detach(app)
            detached.append(app.name)
        session.flush()
        bundle = repository_bundle_key(repository_owner(pipeline))
        session.delete(pipeline)
        session.flush()
        _remove_repository(data_dir, name)
        if store.exists(bundle):
            store.delete(bundle)
        audit.record(session, user, action="pipeline.destroy", pipeline=name, detached=detached)
        return detached

    def add(
        self,
        session: Session,
        user: User,
        name: str,
        *,
        app: str,
        stage: str | None,
        branch: str | None = None,
    ) -> App:
        """Make `app` a stage of the pipeline. The stage defaults to the one the app's name
        suggests (`-staging`, `-prod` …, as Heroku's CLI guesses); the branch as described
        in the module's docstring. Conflict when the app is in a pipeline already or the
        branch is followed by another app; InvalidInput for a stage or branch git or the
        pipeline cannot take."""
        if is_review_app(app_service.get_for(session, user, app, lock=True)):
            raise Conflict(f"'{app}' is a review app; {REVIEW_APPS_STAY}")
        row = self._owned_app(session, user, app, to=f"put it in pipeline '{name}'")
        pipeline = self.get_owned(session, user, name, to="add apps to it", lock=True)
        if row.pipeline_id is not None:
            current = self.of_app(session, row)
            where = current.name if current else "another pipeline"
            raise Conflict(
                f"'{app}' is already in pipeline '{where}'; take it out first "
                f"(`laambda pipelines:remove -a {app}`)"
            )
        chosen = self._stage(stage, app)
        if branch is None and chosen is Stage.PRODUCTION:
            if self.follower(session, pipeline, DEFAULT_BRANCH) is None:
                branch = DEFAULT_BRANCH
        self._check_branch(session, pipeline, branch, app=row)
        row.pipeline_id, row.stage, row.branch = pipeline.id, chosen.value, branch
        row.review_app = False  # a row an older laambda let leave the review stage
        session.flush()
        audit.record(
            session,
            user,
            action="pipeline.add",
            app=app,
            pipeline=name,
            stage=chosen.value,
            branch=branch,
        )
        return row

    def remove(self, session: Session, user: User, *, app: str) -> Pipeline:
        """Take `app` out of its pipeline (it keeps its releases and functions); the pipeline
        it was in. InvalidInput when it is in none."""
        row = app_service.get_for(session, user, app, lock=True)
        pipeline = self.of_app(session, row)
        if pipeline is None:
            raise InvalidInput(f"'{app}' is in no pipeline")
        if is_review_app(row):
            raise Conflict(
                f"'{app}' is a review app; {REVIEW_APPS_STAY} "
                f"(`laambda reviewapps:destroy {app} -p {pipeline.name}` destroys it)"
            )
        row = self._owned_app(session, user, app, to="take it out of its pipeline")
        self.get_owned(session, user, pipeline.name, to="take apps out of it", lock=True)
        _detach(row)
        session.flush()
        audit.record(session, user, action="pipeline.remove", app=app, pipeline=pipeline.name)
        return pipeline

    def update(
        self, session: Session, user: User, *, app: str, changes: Mapping[str, str | None]
    ) -> App:
        """Change where `app` sits: `changes` holds any of "pipeline" (a name: move it there;
        None: take it out), "stage" and "branch" (None: follow no branch). Each change of
        branch is recorded. The rules are those of `add`."""
        if not changes:
            return app_service.get_for(session, user, app)
        row = app_service.get_for(session, user, app, lock=True)
        if is_review_app(row):
            raise Conflict(f"'{app}' is a review app; {REVIEW_APPS_STAY}")
        row = self._owned_app(session, user, app, to="change its place in a pipeline")
        if "pipeline" in changes:
            target = changes["pipeline"]
            current = self.of_app(session, row)
            if target is None:
                if current is not None:
                    self.remove(session, user, app=app)
                return row
            if current is None or current.name != target:
                if current is not None:
                    self.remove(session, user, app=app)
                return self.add(
                    session,
                    user,
                    target,
                    app=app,
                    stage=changes.get("stage"),
                    branch=changes.get("branch"),
                )
        pipeline = self.of_app(session, row)
        if pipeline is None:
            raise Conflict(
                f"'{app}' is in no pipeline: give one (`laambda apps:update {app} "
                "--pipeline NAME --stage STAGE`)"
            )
        pipeline = self.get_owned(
            session, user, pipeline.name, to="change the stage or branch of its apps", lock=True
        )
        if changes.get("stage") is not None:
            stage = self._stage(changes["stage"], app)
            if stage.value != row.stage:
                audit.record(
                    session,
                    user,
                    action="pipeline.stage",
                    app=app,
                    pipeline=pipeline.name,
                    stage=stage.value,
                    previous=row.stage,
                )
                row.stage = stage.value
        if "branch" in changes and changes["branch"] != row.branch:
            branch = changes["branch"]
            self._check_branch(session, pipeline, branch, app=row)
            audit.record(
                session,
                user,
                action="pipeline.branch",
                app=app,
                pipeline=pipeline.name,
                branch=branch,
                previous=row.branch,
            )
            row.branch = branch
        session.flush()
        return row

    def _owned_app(self, session: Session, user: User, app: str, *, to: str) -> App:
        """The app, locked, if the user owns it or is an admin (`app_service.get_owned`)."""
        return app_service.get_owned(session, user, app, to=to, lock=True)

    def _stage(self, stage: str | None, app: str) -> Stage:
        if stage is None:
            guessed = infer_stage(app)
            if guessed is None:
                raise InvalidInput(f"which stage is '{app}'? give one with --stage ({STAGE_NAMES})")
            return guessed
        if stage not in {s.value for s in ASSIGNABLE_STAGES}:
            shown = stage if len(stage) <= 30 and stage.isprintable() else f"{stage[:30]!r}…"
            raise InvalidInput(
                f"'{shown}' is not a stage apps can be put in: use one of {STAGE_NAMES} "
                "(review apps are made by pushes)"
            )
        return Stage(stage)

    def _check_branch(
        self, session: Session, pipeline: Pipeline, branch: str | None, *, app: App
    ) -> None:
        """InvalidInput for a name git refuses; Conflict naming the app that follows it."""
        if branch is None:
            return
        if (problem := branch_problem(branch)) is not None:
            raise InvalidInput(problem)
        follower = self.follower(session, pipeline, branch)
        if follower is not None and follower.id != app.id:
            raise Conflict(
                f"branch '{branch}' of pipeline '{pipeline.name}' is already followed by "
                f"'{follower.name}'; one app per branch: point that app elsewhere first "
                f"(`laambda apps:update {follower.name} --branch OTHER`)"
            )

    def follower(
        self, session: Session, pipeline: Pipeline, branch: str, *, lock: bool = False
    ) -> App | None:
        """The app of the pipeline that follows `branch` (a push of it deploys that app);
        `lock` holds its row until the transaction ends."""
        query = select(App).where(App.pipeline_id == pipeline.id, App.branch == branch)
        return session.scalar(query.with_for_update() if lock else query)

    def followed(self, session: Session, pipeline: Pipeline) -> list[App]:
        """The apps of the pipeline that follow a branch, production first, review apps last."""
        apps = session.scalars(
            select(App).where(App.pipeline_id == pipeline.id, App.branch.is_not(None))
        )

        def production_first(app: App) -> tuple[int, str]:
            rank = stage_rank(app.stage)
            return (-rank if rank is not None else 1, app.branch or "")

        return sorted(apps, key=production_first)

    def _visible(self, user: User) -> ColumnElement[bool]:
        member = exists().where(
            App.pipeline_id == Pipeline.id,
            Collaborator.app_id == App.id,
            Collaborator.user_id == user.id,
        )
        return or_(Pipeline.owner_id == user.id, member)


def _rank(stage: str | None) -> int:
    """Promotion order; apps in no known stage come after production."""
    rank = stage_rank(stage)
    return len(Stage) if rank is None else rank


def _detach(app: App) -> None:
    app.review_app = False
    app.pipeline_id = None
    app.stage = None
    app.branch = None


def _remove_repository(data_dir: Path, name: str) -> None:
    """A pipeline's repository goes with it: a new pipeline of its name never serves it."""
    path = pipeline_repository_path(data_dir, name)
    if path.exists():
        shutil.rmtree(path)


pipeline_service = PipelineService()
