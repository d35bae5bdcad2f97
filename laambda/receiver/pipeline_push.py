"""The pre-receive step of a push to a pipeline's repository (`ssh://HOST/pipelines/NAME`):
each branch deploys the app of the pipeline that follows it.

- A branch an app follows deploys that app, exactly as a push to the app's own remote does
  (laambda/receiver/push.py), once the pusher is found to be a collaborator of that app.
- A branch no app follows makes a review app when the pipeline has them
  (services/review_app.py) and deploys it; otherwise the push is refused, naming the branches
  that are followed.
- Deleting a review app's branch destroys the review app as `apps:destroy` would; deleting a
  branch another app follows is refused.

One branch per push: git accepts or refuses all of a push's refs together, so with two
branches one could be released while the push is refused, and the pusher would be told
something other than what runs. Pushes to one pipeline wait for each other in the receiver
(its pipeline lock); the deploy of an app also takes the app's own push lock, so a push to
the app's own remote and one to the pipeline never deploy it at once.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from botocore.exceptions import ClientError
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.crypto import Cipher
from laambda.db.locks import LockKind, LockTimeout, advisory_lock
from laambda.db.models import Pipeline, User
from laambda.db.session import get_engine, make_sessionmaker, session_scope
from laambda.deploy import aws
from laambda.domain.branch_name import branch_problem
from laambda.domain.review_app import procfile_entry_names
from laambda.errors import LaambdaError, PermissionDenied
from laambda.objectstore import ObjectStore
from laambda.receiver.push import KEEPALIVE_SECONDS, Push, RefUpdate, Say
from laambda.services.app import app_service
from laambda.services.pipeline import is_review_app, pipeline_service
from laambda.services.release import release_service
from laambda.services.review_app import aws_cloud, review_app_service

# a name Lambda takes for a function (API_CreateFunction, FunctionName)
_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class PipelinePush:
    """One push to a pipeline's repository, run by its pre-receive hook (receiver/hook.py)."""

    def __init__(
        self,
        settings: Settings,
        *,
        pipeline: str,
        user_id: int,
        say: Say,
        keepalive: float = KEEPALIVE_SECONDS,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        store: ObjectStore | None = None,
    ) -> None:
        self.settings = settings
        self.cwd = cwd  # the repository and git's environment (laambda/receiver/hookserver.py)
        self.env = env
        self.store = store
        self.pipeline = pipeline
        self.user_id = user_id
        self.say = say
        self.keepalive = keepalive
        self.engine = get_engine(settings.database_url)
        self.sessions = make_sessionmaker(self.engine)

    def run(self, updates: list[RefUpdate]) -> bool:
        """Deploy (or delete) the one pushed branch; True accepts the push."""
        if len(updates) != 1:
            branches = ", ".join(u.ref.removeprefix("refs/heads/") for u in updates)
            return self._refuse(
                f"push one branch at a time to a pipeline (this push has {branches}): "
                "each deploys its own app, and git accepts or refuses a push whole"
            )
        update = updates[0]
        if not update.ref.startswith("refs/heads/"):
            return self._refuse(
                f"'{update.ref}' is not a branch: a pipeline's branches deploy its apps"
            )
        branch = update.ref.removeprefix("refs/heads/")
        # the rule `apps:update --branch` applies, before the database sees the name
        if (problem := branch_problem(branch)) is not None:
            return self._refuse(f"a pipeline's branches deploy its apps, and {problem}")
        if update.new.strip("0") == "":
            return self._delete(branch)
        return self._deploy(branch, update.new, update.old)

    def _deploy(self, branch: str, commit: str, base: str) -> bool:
        entries = procfile_entry_names(_show(f"{commit}:Procfile", self.cwd, self.env))
        with session_scope(self.sessions) as session:
            user = session.get_one(User, self.user_id)
            pipeline = pipeline_service.get_for(session, user, self.pipeline)
            app = pipeline_service.follower(session, pipeline, branch)
            if app is None and not pipeline.review_apps:
                return self._refuse(self._unfollowed(session, pipeline, branch))
            created = app is None
            if app is None:
                app = review_app_service.create(
                    session,
                    pipeline,
                    branch=branch,
                    pusher=user,
                    settings=self.settings,
                    cipher=Cipher(self.settings.secret_key),
                    entries=entries,
                    function_exists=self._function_exists(session, pipeline),
                )
                self.say(f"-----> Created review app {app.name} for branch {branch}")
            else:
                try:
                    app_service.get_for(session, user, app.name)
                except PermissionDenied as denied:
                    return self._refuse(f"'{branch}' deploys {app.name}: {denied.message}")
            target, app_id, review = app.name, app.id, app.review_app
        self.say(f"-----> Branch {branch} deploys {target}")
        try:
            with advisory_lock(
                self.engine,
                LockKind.PUSH,
                app_id,
                timeout=self.settings.push_lock_timeout,
                on_wait=lambda: self.say(f"-----> Waiting for another push to {target}"),
            ):
                push = Push(
                    self.settings,
                    app=target,
                    user_id=self.user_id,
                    say=self.say,
                    keepalive=self.keepalive,
                    cwd=self.cwd,
                    env=self.env,
                    store=self.store,
                )
                released = push.deploy(commit, base=base)
        except LockTimeout:
            return self._refuse(f"another push to {target} is still being deployed; try again")
        if released and review:
            self._show_functions(target)
        if not released and created:
            self._discard(target, branch)
        return released

    def _function_exists(self, session: Session, pipeline: Pipeline) -> Callable[[str], bool]:
        """Whether Lambda holds a function of a name, in the region a new review app of the
        pipeline would use (GetFunction). A name Lambda would not take (a Procfile entry the
        build will refuse) is held by nobody; an error other than "not found" is taken as
        not held, and a first deploy that then fails destroys the review app again."""
        region = review_app_service.region(session, pipeline, self.settings)
        client = aws.lambda_client(self.settings, region)

        def exists(name: str) -> bool:
            if not _FUNCTION_NAME.fullmatch(name):
                return False
            try:
                client.get_function(FunctionName=name)
            except ClientError:
                return False
            return True

        return exists

    def _discard(self, name: str, branch: str) -> None:
        """Destroy the review app this push made when its first deploy failed: the push is
        refused, so git never made the branch, and a review app nobody can delete with
        `git push laambda :BRANCH` must not stay. The next push of the branch makes it anew."""
        self.say(f"-----> The first deploy of review app {name} failed: destroying it")
        try:
            with session_scope(self.sessions) as session:
                user = session.get_one(User, self.user_id)
                pipeline = pipeline_service.get_for(session, user, self.pipeline)
                app = pipeline_service.follower(session, pipeline, branch, lock=True)
                if app is None or app.name != name or not is_review_app(app):
                    return
                review_app_service.destroy(
                    session,
                    app,
                    actor=user,
                    reason="first deploy failed",
                    settings=self.settings,
                    store=ObjectStore(aws.s3_client(self.settings), self.settings.artifact_bucket),
                    cloud=aws_cloud(self.settings),
                )
        except LaambdaError as refused:
            self.say(
                f" !     Review app {name} is left: {refused.message}; destroy it with "
                f"`laambda reviewapps:destroy {branch} -p {self.pipeline}`"
            )
            return
        self.say(f"-----> Review app {name} destroyed; push {branch} again to make it anew")

    def _delete(self, branch: str) -> bool:
        with session_scope(self.sessions) as session:
            user = session.get_one(User, self.user_id)
            pipeline = pipeline_service.get_for(session, user, self.pipeline)
            app = pipeline_service.follower(session, pipeline, branch, lock=True)
            if app is None:
                self.say(f"-----> Deleted {branch}: no app follows it")
                return True
            if not is_review_app(app):
                return self._refuse(
                    f"'{branch}' deploys {app.name} ({app.stage}): deleting it is not allowed; "
                    "make the app follow another branch first"
                )
            try:
                app_service.get_for(session, user, app.name)
            except PermissionDenied as denied:
                return self._refuse(f"'{branch}' deploys {app.name}: {denied.message}")
            name = app.name
            self.say(f"-----> Destroying review app {name} of branch {branch}")
            removed = review_app_service.destroy(
                session,
                app,
                actor=user,
                reason="branch deleted",
                settings=self.settings,
                store=ObjectStore(aws.s3_client(self.settings), self.settings.artifact_bucket),
                cloud=aws_cloud(self.settings),
            )
        for line in removed:
            self.say(f"       removed {line}")
        self.say(f"-----> Review app {name} destroyed")
        return True

    def _unfollowed(self, session: Session, pipeline: Pipeline, branch: str) -> str:
        """Why a branch no app follows is refused: the ones that are, and review apps."""
        followed = [
            f"{app.branch} ({app.name})" for app in pipeline_service.followed(session, pipeline)
        ]
        return (
            f"no app follows '{branch}' in pipeline {pipeline.name}; followed: "
            f"{', '.join(followed) or 'none'}; enable review apps with "
            f"`laambda reviewapps:enable -p {pipeline.name}`"
        )

    def _show_functions(self, name: str) -> None:
        """The review app's functions, with the URL of each that has one."""
        with session_scope(self.sessions) as session:
            app = app_service.get_for(session, session.get_one(User, self.user_id), name)
            release = release_service.current(session, app)
            if release is None:
                return
            urls = review_app_service.function_urls(session, app)
            functions = sorted(release.function_versions or {})
        self.say(f"-----> Review app {name} is live:")
        for function in functions:
            entry = function.removeprefix(f"{name}-")
            where = urls.get(entry) or f"invoke with `laambda invoke {entry} -a {name}`"
            self.say(f"       {function}: {where}")

    def _refuse(self, reason: str) -> bool:
        self.say(f" !     Push rejected: {reason}")
        return False


def _show(spec: str, cwd: Path | None, env: Mapping[str, str] | None) -> str:
    """A file of a pushed commit (in the repository `cwd`, with git's environment `env`;
    None: this process's, as when git runs the hook), or "" without one."""
    shown = subprocess.run(["git", "show", spec], capture_output=True, text=True, cwd=cwd, env=env)
    return shown.stdout if shown.returncode == 0 else ""
