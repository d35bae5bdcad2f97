"""Review apps: one app per branch of a pipeline's repository that no other app follows, made
by the first push of that branch and destroyed with the branch, by `reviewapps:destroy`, or
once the pipeline's TTL passes without a push (Heroku review apps, Amplify branch previews).

This service owns their lifecycle: whether a pipeline makes them (enable, disable, TTL), the
config they start with (the pipeline's review config, encrypted as config vars are), their
creation and their destruction (services/teardown.py, as `apps:destroy`). Who may touch a
pipeline: its owner, admins, and the owners and collaborators of any of its apps; changing
its review settings and config takes its owner or an admin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.crypto import Cipher
from laambda.db.base import utcnow
from laambda.db.models import (
    App,
    Build,
    Collaborator,
    ConfigVar,
    EventSource,
    Pipeline,
    User,
)
from laambda.deploy import aws, triggers
from laambda.deploy.triggers import Triggers
from laambda.domain.env_vars import size_problem, var_problem
from laambda.domain.function import function_name
from laambda.domain.pipeline import Stage
from laambda.domain.review_app import NoReviewAppName, review_app_name, ttl_seconds
from laambda.errors import InvalidInput, NotFound
from laambda.objectstore import ObjectStore
from laambda.services.app import app_service
from laambda.services.audit import audit
from laambda.services.pipeline import IS_REVIEW_APP, is_review_app, pipeline_service
from laambda.services.teardown import remove_repository, teardown

# the apps a review app takes its region, role and runtime from, first found first
TEMPLATE_STAGES = (Stage.STAGING, Stage.PRODUCTION, Stage.DEVELOPMENT)
HTTP = "http"  # the kind of event source that is a function URL


@dataclass(frozen=True)
class Cloud:
    """The AWS adapters a destroy needs, per region: a Triggers and a CloudWatch Logs client."""

    triggers: Callable[[str], Triggers]
    logs: Callable[[str], Any]


def aws_cloud(settings: Settings) -> Cloud:
    """The adapters of the AWS (or local cloud) the settings name, for callers outside the API
    (the receiver, the worker's sweep)."""
    return Cloud(
        triggers=lambda region: triggers.for_region(settings, region),
        logs=lambda region: aws.client("logs", settings, region),
    )


class ReviewAppService:
    # review settings

    def configure(
        self,
        session: Session,
        user: User,
        name: str,
        *,
        enabled: bool,
        ttl: str | None = None,
    ) -> Pipeline:
        """Turn review apps on (with a TTL such as "3d"; None: each is kept until its branch
        goes) or off. Turning them off destroys none: the review apps there are keep
        following their branches until deleted. The pipeline's owner or an admin only."""
        pipeline = pipeline_service.get_owned(
            session, user, name, to=f"{'enable' if enabled else 'disable'} review apps"
        )
        if enabled:
            try:
                pipeline.review_ttl_seconds = ttl_seconds(ttl) if ttl is not None else None
            except ValueError as bad:
                raise InvalidInput(str(bad)) from None
        pipeline.review_apps = enabled
        audit.record(
            session,
            user,
            action="reviewapps.enable" if enabled else "reviewapps.disable",
            pipeline=pipeline.name,
            ttl_seconds=pipeline.review_ttl_seconds if enabled else None,
        )
        session.flush()
        return pipeline

    def review_apps(self, session: Session, pipeline: Pipeline) -> list[App]:
        """The pipeline's review apps (`is_review_app`), by name."""
        query = select(App).where(App.pipeline_id == pipeline.id, IS_REVIEW_APP)
        return list(session.scalars(query.order_by(App.name)))

    def expires_at(self, pipeline: Pipeline, app: App) -> datetime | None:
        """When the review app goes if nobody pushes its branch again; None without a TTL."""
        if pipeline.review_ttl_seconds is None:
            return None
        return (app.last_deployed_at or app.created_at) + timedelta(
            seconds=pipeline.review_ttl_seconds
        )

    def expired(self, session: Session, *, now: datetime | None = None) -> list[App]:
        """Every review app whose pipeline's TTL passed since its last deploy (or creation)."""
        now = now or utcnow()
        rows = session.execute(
            select(App, Pipeline)
            .join(Pipeline, App.pipeline_id == Pipeline.id)
            .where(IS_REVIEW_APP, Pipeline.review_ttl_seconds.is_not(None))
        )
        return [
            app
            for app, pipeline in rows
            if (when := self.expires_at(pipeline, app)) is not None and when <= now
        ]

    # review config

    def config(self, pipeline: Pipeline, cipher: Cipher) -> dict[str, str]:
        if pipeline.review_config_encrypted is None:
            return {}
        return dict(cipher.decrypt_json(pipeline.review_config_encrypted))

    def change_config(
        self,
        session: Session,
        user: User,
        name: str,
        *,
        changes: Mapping[str, str | None],
        cipher: Cipher,
    ) -> list[str]:
        """Set (value) and unset (None) keys of the config new review apps start with; the
        keys that changed. Review apps already made keep theirs (change them with
        `config:set -a`). Values are checked as config vars are; never recorded."""
        pipeline = pipeline_service.get_owned(session, user, name, to="change the review config")
        problems = [p for k, v in changes.items() if v is not None and (p := var_problem(k, v))]
        if problems:
            raise InvalidInput("; ".join(problems))
        config = self.config(pipeline, cipher)
        changed = []
        for key, value in changes.items():
            if value is None and key in config:
                del config[key]
                changed.append(key)
            elif value is not None and config.get(key) != value:
                config[key] = value
                changed.append(key)
        if (problem := size_problem(config)) is not None:
            raise InvalidInput(problem)
        if changed:
            pipeline.review_config_encrypted = cipher.encrypt_json(config)
            audit.record(
                session, user, action="reviewconfig.change", pipeline=name, keys=sorted(changed)
            )
            session.flush()
        return sorted(changed)

    # lifecycle

    def create(
        self,
        session: Session,
        pipeline: Pipeline,
        *,
        branch: str,
        pusher: User,
        settings: Settings,
        cipher: Cipher,
        entries: Sequence[str] = (),
        function_exists: Callable[[str], bool] | None = None,
    ) -> App:
        """The review app of `branch` (see domain/review_app.py for its name), owned by the
        pipeline's owner with the pusher as a collaborator, in the region and with the role,
        runtime and architecture of the pipeline's staging (else production, development)
        app or the platform's defaults, starting with the pipeline's review config and that
        app's function URLs (for the same Procfile entries). Call with
        the pipeline's push lock held. `entries` are the pushed Procfile's entry names;
        `function_exists` says whether a Lambda function of a name exists already (in the
        region the review app will use). InvalidInput when no name fits or no role is known.

        A name is taken (`_name_taken`) when the review app's functions `<name>-<entry>`
        could be another app's, so its first release would find them made already."""
        owner = session.get(User, pipeline.owner_id) if pipeline.owner_id else None
        owner = owner or pusher
        template = self._template(session, pipeline)

        def taken(candidate: str) -> bool:
            return _name_taken(session, pipeline, candidate, entries, function_exists)

        longest_entry = max(map(len, entries), default=0)
        try:
            name = review_app_name(pipeline.name, branch, longest_entry=longest_entry, taken=taken)
        except NoReviewAppName as refused:
            raise InvalidInput(f"no review app for '{branch}': {refused}") from None
        app = app_service.create(
            session,
            owner,
            name=name,
            settings=settings,
            role=template.role_arn if template else None,
            region=template.region if template else None,
            architecture=template.architecture if template else None,
            runtime=template.runtime if template else None,
        )
        remove_repository(settings.data_dir, name)  # one an older app of this name left
        app.pipeline_id = pipeline.id
        app.stage = Stage.REVIEW
        app.branch = branch
        app.review_app = True
        if pusher.id != owner.id:
            session.add(Collaborator(app_id=app.id, user_id=pusher.id))
        session.add_all(
            ConfigVar(app_id=app.id, key=key, value_encrypted=cipher.encrypt(value))
            for key, value in self.config(pipeline, cipher).items()
        )
        if template is not None:
            session.add_all(self._function_urls(session, template, app))
        audit.record(
            session,
            pusher,
            action="reviewapp.create",
            app=name,
            pipeline=pipeline.name,
            branch=branch,
        )
        session.flush()
        return app

    def destroy(
        self,
        session: Session,
        app: App,
        *,
        actor: User | None,
        reason: str,
        settings: Settings,
        store: ObjectStore,
        cloud: Cloud,
    ) -> list[str]:
        """Destroy a review app and everything it made, as `apps:destroy` does (the caller
        checked who may); `reason` ("branch deleted", "TTL passed", "reviewapps:destroy")
        goes to the activity trail. Conflict while a build or release of it is under way."""
        if not is_review_app(app):
            raise InvalidInput(f"'{app.name}' is not a review app; destroy it with apps:destroy")
        pipeline = session.get(Pipeline, app.pipeline_id) if app.pipeline_id else None
        audit.record(
            session,
            actor,
            action="reviewapp.destroy",
            app=app.name,
            pipeline=pipeline.name if pipeline else None,
            branch=app.branch,
            reason=reason,
        )
        return teardown.remove(
            session,
            app,
            actor=actor,
            settings=settings,
            store=store,
            triggers=cloud.triggers,
            logs=cloud.logs,
        )

    def find(self, session: Session, pipeline: Pipeline, branch_or_app: str) -> App:
        """The review app of the pipeline named by its branch or by its name, locked."""
        query = (
            select(App)
            .where(App.pipeline_id == pipeline.id, IS_REVIEW_APP)
            .where(or_(App.branch == branch_or_app, App.name == branch_or_app))
            .with_for_update()
        )
        app = session.scalars(query).first()
        if app is None:
            raise NotFound(
                f"pipeline '{pipeline.name}' has no review app of '{branch_or_app}'; "
                f"`laambda reviewapps -p {pipeline.name}` lists them"
            )
        return app

    def function_urls(self, session: Session, app: App) -> dict[str, str]:
        """Procfile entry -> its function URL, for the app's functions that have one."""
        rows = session.scalars(
            select(EventSource).where(EventSource.app_id == app.id, EventSource.kind == HTTP)
        )
        return {row.function: row.url for row in rows if row.url}

    def _function_urls(self, session: Session, template: App, app: App) -> list[EventSource]:
        """The function URLs of the template app's functions, for the same functions of the
        review app: its first release makes them (a URL of a function the branch's Procfile
        lacks waits, not applied, for a push that brings the function, as every event source
        of a function a release lacks does). Queues, streams and schedules are not copied: a
        preview must not take the staging app's messages or run its jobs."""
        rows = session.scalars(
            select(EventSource).where(EventSource.app_id == template.id, EventSource.kind == HTTP)
        )
        return [
            EventSource(app_id=app.id, function=row.function, kind=row.kind, source=row.source)
            for row in rows
        ]

    def region(self, session: Session, pipeline: Pipeline, settings: Settings) -> str:
        """The AWS region a review app of the pipeline made now would run in."""
        template = self._template(session, pipeline)
        return (template.region if template else None) or settings.aws_region

    def _template(self, session: Session, pipeline: Pipeline) -> App | None:
        apps = session.scalars(select(App).where(App.pipeline_id == pipeline.id))
        by_stage = {app.stage: app for app in apps}
        return next((by_stage[s] for s in TEMPLATE_STAGES if s in by_stage), None)


def _name_taken(
    session: Session,
    pipeline: Pipeline,
    candidate: str,
    entries: Sequence[str],
    function_exists: Callable[[str], bool] | None,
) -> bool:
    """Whether a review app may not be called `candidate`. Function names are
    `<app>-<entry>`, so two apps share one when one's name is the other's followed by a dash
    and more. Taken, then, when an app is called `candidate`; when an app's name starts with
    `<candidate>-`; when `candidate` starts with `<A>-` for an app A (another tenant's app
    `shop-feature` with an entry `signup-web` owns `shop-feature-signup-web`), except for the
    app named after the pipeline itself (often its production app; every review app name
    starts with it), which takes the name only when one of its built Procfile entries gives
    a function the review app would have; and when Lambda already holds a function
    `<candidate>-<entry>` for one of `entries`."""
    prefixes = [candidate[:i] for i, char in enumerate(candidate) if char == "-"]
    clash = or_(
        App.name == candidate,
        App.name.startswith(f"{candidate}-", autoescape=True),
        and_(App.name.in_(prefixes), App.name != pipeline.name),
    )
    if session.scalar(select(exists().where(clash))):
        return True
    wanted = {function_name(candidate, entry) for entry in entries}
    if pipeline.name in prefixes:
        named = session.scalar(select(App).where(App.name == pipeline.name))
        if named is not None:
            built = session.scalars(
                select(Build.procfile).where(Build.app_id == named.id, Build.procfile.is_not(None))
            )
            made = {
                function_name(named.name, entry) for procfile in built for entry in procfile or {}
            }
            if wanted & made:
                return True
    return function_exists is not None and any(function_exists(name) for name in sorted(wanted))


review_app_service = ReviewAppService()
