"""The repositories of one codebase lend each other the commits they lack.

An app of a pipeline takes pushes through two remotes, its own (`ssh://HOST/APP`) and the
pipeline's (`ssh://HOST/pipelines/NAME`), and code from a third path, promotion. Whichever
made a release live, each repository's branch must show its commit (laambda/receiver/branch.py),
and git moves a ref only to a commit the repository holds: a hotfix pushed to the app's own
remote is not in the pipeline's repository, and a promoted commit is not in the downstream
app's. Before aligning, the receiver copies a live commit the repository lacks from its
siblings on this host: the pipeline's repository and the repositories of the pipeline's apps
(`git fetch` of that one commit from one bare repository into the other, server side, so the
next `git fetch` by a user shows it). A commit no sibling holds (an upload of `laambda deploy`
whose commit was never pushed) stays missing; the push check in laambda/receiver/push.py
then refuses a push that would replace it.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from sqlalchemy.orm import Session

from laambda.db.models import App, Pipeline
from laambda.receiver.bundles import holds
from laambda.services.pipeline import pipeline_service
from laambda.services.teardown import pipeline_repository_path, repository_path

log = logging.getLogger("laambda.receiver")
# the sibling serves a commit no ref of it may point at yet (kept from a push still deploying)
_UPLOAD_PACK = "git -c uploadpack.allowAnySHA1InWant=true upload-pack"


def of_app(session: Session, data_dir: Path, app: App) -> list[Path]:
    """The repositories on this host that share an app's code: its pipeline's and those of
    the pipeline's other apps; none when the app is in no pipeline."""
    pipeline = pipeline_service.of_app(session, app)
    if pipeline is None:
        return []
    others = [row for row in pipeline_service.apps(session, pipeline) if row.id != app.id]
    return _existing(
        [pipeline_repository_path(data_dir, pipeline.name)]
        + [repository_path(data_dir, row.name) for row in others]
    )


def of_pipeline(session: Session, data_dir: Path, pipeline: Pipeline) -> list[Path]:
    """The repositories on this host of the pipeline's apps (their own remotes)."""
    apps = pipeline_service.apps(session, pipeline)
    return _existing([repository_path(data_dir, row.name) for row in apps])


def borrow(repo: Path, commit: str, siblings: list[Path]) -> bool:
    """Copy `commit` (and its history) into the bare repository `repo` from the first of
    `siblings` that holds it; True when `repo` holds it afterwards. Fetched by object name into
    FETCH_HEAD only: no ref of `repo` moves here (branch.py moves them)."""
    if holds(repo, commit):
        return True
    for sibling in siblings:
        if sibling == repo or not holds(sibling, commit):
            continue
        fetched = subprocess.run(
            ["git", "fetch", "--quiet", "--no-tags", f"--upload-pack={_UPLOAD_PACK}"]
            + [str(sibling), commit],
            cwd=repo,
            capture_output=True,
            text=True,
        )
        if fetched.returncode == 0:
            log.info("%s: took %s from %s", repo.name, commit[:7], sibling.name)
            return True
        log.warning(
            "%s: could not take %s from %s: %s", repo.name, commit[:7], sibling, fetched.stderr
        )
    return False


def _existing(paths: list[Path]) -> list[Path]:
    return [path for path in paths if (path / "HEAD").exists()]
