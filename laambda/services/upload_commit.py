"""Whether an upload's commit label can be believed.

`laambda deploy` (POST /v1/apps/{app}/builds?commit=SHA) names the commit its tarball was
archived from, but anyone who may upload can name any commit. Heroku's Build API takes that
label (`source_blob.version`) unverified and its git remote is unaffected by API builds.
laambda keeps the label as the build's `commit`, which its git remotes then show and protect
(laambda/receiver/branch.py), only when it is verified: a repository of the app's codebase
on this host (the app's own, its pipeline's or those of the pipeline's other apps) holds the
commit, named by its whole object name (a short sha or a hex-named branch, `deadbeef1`, could
name another commit later), and `git archive` of it holds exactly the files of the upload.
Otherwise the label is kept apart (`Build.commit_label`) and shown as unverified; it moves no
branch and refuses no push.
"""

from __future__ import annotations

import re
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from laambda.building.contents import contents
from laambda.db.models import App
from laambda.gitrepo import git, holds
from laambda.services.pipeline import pipeline_service
from laambda.services.teardown import pipeline_repository_path, repository_path

# a whole object name, SHA-1 or SHA-256: the one spelling that names a commit and nothing else
FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True)
class Labelled:
    """The upload's `commit` when verified, else None and its `label` kept apart."""

    commit: str | None
    label: str | None


def labelled(
    session: Session, data_dir: Path, app: App, label: str | None, tarball: Path
) -> Labelled:
    """Verify the commit `label` of the upload `tarball` to `app` (see the module)."""
    if label is None:
        return Labelled(None, None)
    if not FULL_SHA.fullmatch(label):
        # a short sha or a hex-named branch names whatever it resolves to at the time
        return Labelled(None, label)
    for repo in _repositories(session, data_dir, app):
        if holds(repo, label):
            return (
                Labelled(label, None)
                if _same_files(repo, label, tarball)
                else Labelled(None, label)
            )
    return Labelled(None, label)


def _repositories(session: Session, data_dir: Path, app: App) -> list[Path]:
    repos = [repository_path(data_dir, app.name)]
    pipeline = pipeline_service.of_app(session, app)
    if pipeline is not None:
        repos.append(pipeline_repository_path(data_dir, pipeline.name))
        repos += [
            repository_path(data_dir, row.name)
            for row in pipeline_service.apps(session, pipeline)
            if row.id != app.id
        ]
    return [repo for repo in repos if (repo / "HEAD").exists()]


def _same_files(repo: Path, commit: str, tarball: Path) -> bool:
    """Whether `git archive COMMIT` holds the files of `tarball`, no more, no fewer."""
    with tempfile.TemporaryDirectory(prefix="laambda-verify-") as work:
        archived = Path(work) / "commit.tar"
        if git(repo, "archive", "-o", str(archived), commit) is None:
            return False
        try:
            return contents(archived) == contents(tarball)
        except (tarfile.TarError, OSError):
            return False
