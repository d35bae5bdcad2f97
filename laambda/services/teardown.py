"""Destroying an app: everything laambda made for it goes, in AWS and on the platform.

In AWS (the app's region): its event sources (the stored ones, then anything else still
pointing at its functions: mappings, schedule rules, function URLs), then its functions with
every version and alias, and their CloudWatch log groups. On the platform: the bare git
repository, the dependency cache, the source tarballs and the artifacts no other app's build
uses. Only then is the app's row (and
with it its builds, releases, config and collaborators) deleted.

All of it happens in the request's transaction with the app's row locked, and every step
looks before it acts: if one fails half-way the app is still there, what was removed stays
removed, and running the destroy again finishes it. An app name can be taken again only once
the row is gone, so only after its repository was removed; `create` also removes a
repository left by an app of that name (one destroyed by an older laambda), so a new app
never serves old history.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.building.cache import purge_cache
from laambda.config import Settings
from laambda.db.models import App, Build, EventSource, Pipeline, Release, User
from laambda.deploy.removal import app_functions, delete_function, delete_log_group
from laambda.deploy.triggers import Triggers
from laambda.domain.function import function_name
from laambda.errors import AwsRefused, Conflict
from laambda.objectstore import ObjectStore
from laambda.services.app import app_service
from laambda.services.audit import audit
from laambda.services.event_source import spec_of

SOURCES_PREFIX = "sources"
BUSY_BUILDS = ("pending", "running")
BUSY_RELEASES = ("pending", "applying")


def repository_path(data_dir: Path, app: str) -> Path:
    """Where the git receiver keeps the app's bare repository (laambda/receiver/repos.py)."""
    return data_dir / "repos" / f"{app}.git"


def pipeline_repository_path(data_dir: Path, pipeline: str) -> Path:
    """Where the git receiver keeps a pipeline's bare repository, the one remote
    (`ssh://HOST/pipelines/NAME`) whose branches deploy to the apps that follow them."""
    return data_dir / "repos" / "pipelines" / f"{pipeline}.git"


def repository_owner(row: App | Pipeline) -> str:
    """Whose repository a copy on disk or a bundle is: "apps/7-20261130T120000123456" (kind,
    id and creation time), so neither an app made again under its name nor an app of a
    database made afresh beside an old object store ever gets another one's history."""
    kind = "apps" if isinstance(row, App) else "pipelines"
    return f"{kind}/{row.id}-{row.created_at:%Y%m%dT%H%M%S%f}"


def repository_bundle_key(owner: str) -> str:
    """Where receivers keep a repository (`repository_owner`) in the object store, as one git
    bundle replaced after each push (laambda/receiver/bundles.py)."""
    return f"repos/{owner}.bundle"


def remove_repository(data_dir: Path, app: str) -> bool:
    """Delete the app's bare repository; False when there was none."""
    path = repository_path(data_dir, app)
    if not path.exists():
        return False
    shutil.rmtree(path)
    return True


class Teardown:
    def destroy(
        self,
        session: Session,
        user: User,
        name: str,
        *,
        settings: Settings,
        store: ObjectStore,
        triggers: Callable[[str], Triggers],
        logs: Callable[[str], Any],
    ) -> list[str]:
        """Destroy the app `name` (its owner or an admin only) and everything laambda made
        for it; what was removed, one line each. `triggers` and `logs` give the AWS adapters
        (a Triggers, a CloudWatch Logs client) of a region. Conflict while a build or release
        of it is under way (it would deploy again what was removed); AwsRefused when AWS
        refuses a removal (the app stays; run it again)."""
        app = app_service.get_owned(session, user, name, to="destroy it", lock=True)
        return self.remove(
            session, app, actor=user, settings=settings, store=store, triggers=triggers, logs=logs
        )

    def remove(
        self,
        session: Session,
        app: App,
        *,
        actor: User | None,
        settings: Settings,
        store: ObjectStore,
        triggers: Callable[[str], Triggers],
        logs: Callable[[str], Any],
    ) -> list[str]:
        """What `destroy` does once the caller may: for an app (locked by the caller) whose
        destruction was already allowed (a review app whose branch was deleted or whose TTL
        passed); `actor` None when the platform does it. Same errors and result as
        `destroy`."""
        name = app.name
        self._refuse_when_busy(session, app)
        removed: list[str] = []
        # every function, event source, tarball and artifact follows a push: an app never
        # pushed to has none, and its destroy needs no AWS
        if session.scalar(select(Build.id).where(Build.app_id == app.id).limit(1)) is not None:
            removed += self._remove_from_aws(session, app, triggers(app.region))
            removed += self._remove_logs(session, app, logs(app.region))
            removed += self._remove_objects(session, app, settings=settings, store=store)
        if remove_repository(settings.data_dir, app.name):
            removed.append(f"git repository {app.name}.git")
        audit.record(session, actor, action="app.destroy", app=name, removed=len(removed))
        session.delete(app)
        session.flush()
        return removed

    def _refuse_when_busy(self, session: Session, app: App) -> None:
        build = session.scalar(
            select(Build.id).where(Build.app_id == app.id, Build.status.in_(BUSY_BUILDS))
        )
        if build is not None:
            raise Conflict(
                f"build {build} of '{app.name}' is under way: cancel it "
                f"(`laambda builds:cancel {build} -a {app.name}`) or let it finish, then destroy"
            )
        release = session.scalar(
            select(Release.version).where(
                Release.app_id == app.id, Release.status.in_(BUSY_RELEASES)
            )
        )
        if release is not None:
            raise Conflict(
                f"release v{release} of '{app.name}' is being applied: destroy it once it is "
                f"live or failed (`laambda releases -a {app.name}` shows it)"
            )

    def _remove_from_aws(self, session: Session, app: App, triggers: Triggers) -> list[str]:
        removed = []
        rows = session.scalars(select(EventSource).where(EventSource.app_id == app.id))
        for row in rows:
            if triggers.remove(function_name(app.name, row.function), spec_of(row)):
                removed.append(f"{function_name(app.name, row.function)}: {row.source}")
        functions = app_functions(triggers.calls, app.name)
        removed += triggers.sweep(functions)
        for function in sorted(functions):
            refusal = delete_function(triggers.calls, function)
            if refusal is not None:
                raise AwsRefused(
                    f"{function}: could not be deleted: {refusal}; "
                    f"nothing else was lost: run `laambda apps:destroy {app.name}` again"
                )
            removed.append(f"function {function}")
        return removed

    def _remove_logs(self, session: Session, app: App, logs: Any) -> list[str]:
        """The log groups of every function any of the app's builds named: a new app of this
        name must not show the old one's logs."""
        entries: set[str] = set()
        for procfile in session.scalars(select(Build.procfile).where(Build.app_id == app.id)):
            entries |= set(procfile or {})
        return [
            f"log group /aws/lambda/{name}"
            for name in sorted(function_name(app.name, entry) for entry in entries)
            if delete_log_group(logs, name)
        ]

    def _remove_objects(
        self, session: Session, app: App, *, settings: Settings, store: ObjectStore
    ) -> list[str]:
        removed = []
        sources = store.delete_prefix(f"{SOURCES_PREFIX}/{app.name}/")
        if sources:
            removed.append(f"{sources} source tarballs")
        if store.exists(bundle := repository_bundle_key(repository_owner(app))):
            store.delete(bundle)
            removed.append("the git repository's copy")
        cached = purge_cache(store, settings, app.name)
        if cached:
            removed.append(f"{cached} dependency cache entries")
        shared = select(Build.artifact_key).where(
            Build.app_id != app.id, Build.artifact_key.is_not(None)
        )
        keys = session.scalars(
            select(Build.artifact_key)
            .where(Build.app_id == app.id, Build.artifact_key.is_not(None))
            .where(Build.artifact_key.not_in(shared))
            .distinct()
        )
        artifacts = [key for key in keys if key]
        for key in artifacts:
            store.delete(key)
        if artifacts:
            removed.append(f"{len(artifacts)} artifacts")
        return removed


teardown = Teardown()
