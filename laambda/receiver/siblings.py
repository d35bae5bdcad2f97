"""The repositories of one codebase lend each other the commits they lack.

An app of a pipeline takes pushes through two remotes, its own (`ssh://HOST/APP`) and the
pipeline's (`ssh://HOST/pipelines/NAME`), and code from a third path, promotion. Whichever
made a release live, each repository's branch must show its commit (laambda/receiver/branch.py),
and git moves a ref only to a commit the repository holds: a hotfix pushed to the app's own
remote is not in the pipeline's repository, and a promoted commit is not in the downstream
app's. Before aligning, the receiver copies a live commit the repository lacks from its
siblings, the pipeline's repository and those of the pipeline's apps: from a copy on this
host (`git fetch` of that one commit from one bare repository into the other), else from the
sibling's bundle in the object store (laambda/receiver/bundles.py; the push that made the
commit live may have gone through another receiver). No ref of the sibling is read or moved
but its objects, so no lock of the sibling is needed. A commit no sibling holds (an upload of
`laambda deploy` whose commit was never pushed) stays missing and protects nothing: a push
may replace it (laambda/receiver/branch.py replaces).
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from laambda.db.models import App, Pipeline
from laambda.gitrepo import holds
from laambda.objectstore import ObjectStore
from laambda.receiver.bundles import bundle_key, unbundle
from laambda.services.build import build_service
from laambda.services.pipeline import pipeline_service
from laambda.services.teardown import (
    pipeline_repository_path,
    repository_owner,
    repository_path,
)

log = logging.getLogger("laambda.receiver")
# the sibling serves a commit no ref of it may point at yet (kept from a push still deploying)
_UPLOAD_PACK = "git -c uploadpack.allowAnySHA1InWant=true upload-pack"


@dataclass(frozen=True)
class Sibling:
    """Another repository of the codebase: its copy on this host and its bundle's key."""

    path: Path
    key: str


@dataclass(frozen=True)
class Lenders:
    """The other repositories of a codebase, and which of the wanted commits were pushed to
    one of them (only those can be in a bundle: an upload or a promotion brings no objects)."""

    siblings: list[Sibling]
    pushed: set[str]


def of_app(session: Session, data_dir: Path, app: App, wanted: list[str]) -> Lenders:
    """The repositories that share an app's code: its pipeline's and those of the pipeline's
    other apps; none when the app is in no pipeline."""
    pipeline = pipeline_service.of_app(session, app)
    if pipeline is None:
        return Lenders([], set())
    apps = pipeline_service.apps(session, pipeline)
    siblings = [_sibling(pipeline_repository_path(data_dir, pipeline.name), pipeline)] + [
        _sibling(repository_path(data_dir, row.name), row) for row in apps if row.id != app.id
    ]
    return Lenders(siblings, build_service.pushed(session, apps, wanted))


def of_pipeline(session: Session, data_dir: Path, pipeline: Pipeline, wanted: list[str]) -> Lenders:
    """The repositories of the pipeline's apps (their own remotes)."""
    apps = pipeline_service.apps(session, pipeline)
    siblings = [_sibling(repository_path(data_dir, row.name), row) for row in apps]
    return Lenders(siblings, build_service.pushed(session, apps, wanted))


def borrow(repo: Path, commit: str, lenders: Lenders, store: ObjectStore) -> bool:
    """Copy `commit` (and its history) into the bare repository `repo` from the first
    sibling that holds it, copies on this host first, then (for a pushed commit) their
    bundles; True when `repo` holds it afterwards. No ref of `repo` moves here (branch.py
    moves them)."""
    if holds(repo, commit):
        return True
    for sibling in lenders.siblings:
        if sibling.path != repo and _fetch(repo, commit, sibling.path):
            return True
    if commit not in lenders.pushed:
        return False
    for sibling in lenders.siblings:
        if unbundle(repo, store, sibling.key) and holds(repo, commit):
            log.info("%s: took %s from the bundle %s", repo.name, commit[:7], sibling.key)
            return True
    return False


def _fetch(repo: Path, commit: str, sibling: Path) -> bool:
    """`git fetch SIBLING COMMIT` into FETCH_HEAD only; False when the copy on this host is
    missing or lacks the commit."""
    if not (sibling / "HEAD").exists() or not holds(sibling, commit):
        return False
    fetched = subprocess.run(
        ["git", "fetch", "--quiet", "--no-tags", f"--upload-pack={_UPLOAD_PACK}"]
        + [str(sibling), commit],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    if fetched.returncode != 0:
        log.warning(
            "%s: could not take %s from %s: %s", repo.name, commit[:7], sibling, fetched.stderr
        )
        return False
    log.info("%s: took %s from %s", repo.name, commit[:7], sibling.name)
    return True


def _sibling(path: Path, row: App | Pipeline) -> Sibling:
    return Sibling(path, bundle_key(repository_owner(row)))
