"""The deploy branch follows the live release, whatever happened to the push that made it.

A push is decided in the pre-receive hook: git moves the branch only when the hook accepts,
so the pusher's answer and the ref agree. Two cases escape that: the pusher's receiver dies
(or is killed) while the worker goes on and releases the build, and the live release changes
without a push (a rollback). For both, the branch is moved to the commit of the live release
the next time anyone pushes or fetches (`align`, run by the receiver before git shows the
refs), so `git push`, `git fetch` and `git ls-remote` see what runs. For that, the hook keeps
the pushed objects (`keep_objects`) before it builds: git would otherwise delete them with
its quarantine when the push is not accepted in time.

The live release is the newest one that succeeded with a build; after `laambda rollback vN`
the branch shows vN's commit, so pushing the newer commit again deploys it again.

A pipeline's repository holds one branch per app that follows one (`align_pipeline`): each is
moved to its app's live commit, and a branch no app follows any more (its review app expired
or was destroyed, its app left the pipeline) is removed, so its next push starts afresh and
makes a review app again.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

from sqlalchemy.orm import Session

from laambda.db.models import App, Release
from laambda.domain.status import ReleaseStatus
from laambda.gitrepo import git, holds
from laambda.services.build import build_service
from laambda.services.release import release_service

log = logging.getLogger("laambda.receiver")
DEPLOY_BRANCHES = ("refs/heads/main", "refs/heads/master")
_PAGE = 50


def live_commit(session: Session, app: App) -> str | None:
    """The commit the app's live release was built from: the newest succeeded release that
    runs a build (deploys, config changes and rollbacks all carry one); None before any. A
    later push that built the same artifact made no release ("nothing changed") but was
    accepted: its commit is the one shown, so the pusher's branch is not moved back."""
    for release in _newest_first(session, app):
        if release.status == ReleaseStatus.SUCCEEDED and release.build_id is not None:
            running = build_service.get(session, app, release.build_id)
            same = build_service.same_code_since(session, running)
            return (same or running).commit
    return None


def _newest_first(session: Session, app: App) -> Iterator[Release]:
    offset = 0
    while page := release_service.list(session, app, limit=_PAGE, offset=offset):
        yield from page
        offset += _PAGE


def align(repo: Path, commit: str | None) -> str | None:
    """Move the deploy branch (main, or master where that is the one pushed) to `commit`;
    returns the ref moved, or None when it was there already or cannot be moved (no release
    yet, or a commit this repository never received). Call with the app's push lock held."""
    if commit is None or not _present(repo, commit):
        return None
    heads = _heads(repo)
    refs = [ref for ref in DEPLOY_BRANCHES if ref in heads] or [DEPLOY_BRANCHES[0]]
    moved = None
    for ref in refs:
        if _move(repo, heads, ref, commit):
            moved = ref
    return moved


def align_pipeline(repo: Path, followed: Mapping[str, str | None]) -> list[str]:
    """In a pipeline's repository: move each followed branch (`refs/heads/<branch>` -> the
    live commit of the app following it, None before its first release) to that commit, and
    remove the branches no app follows; the refs moved or removed. Call with the pipeline's
    push lock held."""
    heads = _heads(repo)
    changed = []
    for ref, commit in followed.items():
        if commit is not None and _present(repo, commit) and _move(repo, heads, ref, commit):
            changed.append(ref)
    for ref in sorted(set(heads) - set(followed)):
        subprocess.run(["git", "update-ref", "-d", ref, heads[ref]], cwd=repo, check=True)
        log.info("%s: %s removed: no app follows it", repo.name, ref)
        changed.append(ref)
    return changed


def replaces(
    live: str | None,
    base: str,
    pushed: str,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> bool:
    """Whether a push of `pushed` over the branch the pusher's git saw at `base` would
    replace the live commit `live` without containing it: the live release changed through
    another path (the app's other remote, a promotion, `laambda deploy`) after that branch
    was read, or `live` never reached this repository, and `pushed` does not descend from
    it. Git's own rule for the branch it shows (a push that is not a fast-forward of the
    remote ref is refused, "fetch first"), applied to the live commit; a forced push over
    the branch as shown still replaces it, as on Heroku. False with no live commit known,
    and when the repository does not hold it (the receiver has copied it from the
    codebase's other repositories first, laambda/receiver/siblings.py): a commit no server
    repository holds cannot be fetched, merged or verified, so it protects nothing (an
    upload's label, laambda/services/upload_commit.py). `cwd`/`env`: the repository and
    git's environment (its quarantine) of the push."""
    if live is None or live == base:
        return False
    repo = cwd or Path.cwd()
    if not _present(repo, live, env=env):
        return False  # in no repository of the codebase: protects nothing
    return git(repo, "merge-base", "--is-ancestor", live, pushed, env=env) is None


def _present(repo: Path, commit: str, *, env: Mapping[str, str] | None = None) -> bool:
    present = holds(repo, commit, env=env)
    if not present:
        log.warning("%s: live commit %s is not in the repository", repo.name, commit[:7])
    return present


def _move(repo: Path, heads: Mapping[str, str], ref: str, commit: str) -> bool:
    if heads.get(ref) == commit:
        return False
    subprocess.run(["git", "update-ref", ref, commit], cwd=repo, check=True)
    log.info("%s: %s moved to the live release's commit %s", repo.name, ref, commit[:7])
    return True


def _heads(repo: Path) -> dict[str, str]:
    listed = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split(" ", 1) for line in listed.stdout.splitlines())


def keep_objects(environ: dict[str, str] | None = None) -> int:
    """Move what a push brought from git's quarantine into the repository's object store, so
    `align` can point the branch at it later even if this push is never accepted. Run inside
    a pre-receive hook (git >= 2.11 sets GIT_QUARANTINE_PATH there). Objects are written
    beside their final name and renamed, packs before their index, as git itself migrates
    them; objects nothing refers to are removed by `git gc` in time. Returns files moved."""
    env = os.environ if environ is None else environ
    quarantine = env.get("GIT_QUARANTINE_PATH")
    if not quarantine:
        return 0
    source = Path(quarantine)
    target = source.parent
    files = sorted(
        (path for path in source.rglob("*") if path.is_file()),
        key=lambda path: path.suffix == ".idx",  # an index makes its pack visible: last
    )
    moved = 0
    for path in files:
        final = target / path.relative_to(source)
        if final.exists():
            continue
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(f".{final.name}.{os.getpid()}")
        shutil.copyfile(path, partial)
        os.replace(partial, final)
        moved += 1
    return moved
