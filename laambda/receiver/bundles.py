"""Receivers keep no state of their own: each bare repository is also kept in the object store.

After a push moves a ref (or a fetch moves the deploy branch to the live release's commit), the
receiver writes the whole repository as one git bundle (`git bundle create --all`,
git-bundle(1)) to `repos/apps/<app id>-<created>.bundle` (or
`repos/pipelines/<pipeline id>-<created>.bundle`), replacing the one before, before the pusher
hears the push's outcome and before the push lock goes: once `git push` returns, a fetch
through any receiver shows what it pushed. A receiver that
lacks the repository (a new host behind the load balancer, a lost disk), or whose copy lacks the
live release's commit (the push before went through another receiver), fetches the bundle's
branches into its copy before git shows the refs; `laambda/receiver/branch.py` then puts the deploy
branch on the live commit as always. With no bundle (the first push, or one made before
receivers kept them) the repository starts empty and the client sends the whole history, so a
push is never refused for want of what another host saw.

Keys hold the app's id and creation time, not its name (services/teardown.py
`repository_owner`): an app destroyed and made again under its name, or an app of a database
made afresh beside an old object store, never restores another's history. A copy on disk
records the owner it belongs to (git config `laambda.owner`); one left by an earlier app of
the same name is replaced, not reused.

Everything here runs with the app's (or pipeline's) push lock held, so two receivers never
write one bundle at once and a restore never sees half of one (S3 replaces an object whole).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from laambda.errors import ObjectMissing
from laambda.gitrepo import holds
from laambda.objectstore import ObjectStore
from laambda.services.teardown import repository_bundle_key

log = logging.getLogger("laambda.receiver")
_OWNER = "laambda.owner"


def bundle_key(owner: str) -> str:
    """The object store key of the repository bundle of `owner` (teardown.repository_owner)."""
    return repository_bundle_key(owner)


def claim(repo: Path, owner: str) -> None:
    """Make sure the copy at `repo` belongs to `owner` (teardown.repository_owner): a copy
    another app of the same name left is removed (git's repository is made again by
    laambda/receiver/repos.py). A copy with no owner recorded (made before receivers recorded one)
    is taken as this owner's."""
    if not (repo / "HEAD").exists():
        return
    recorded = _config(repo, _OWNER)
    if recorded is None:
        subprocess.run(["git", "config", _OWNER, owner], cwd=repo, check=True)
    elif recorded != owner:
        log.info("%s: left by %s, not %s's: made again", repo.name, recorded, owner)
        shutil.rmtree(repo)


def mark(repo: Path, owner: str) -> None:
    """Record the owner of a freshly made copy (see `claim`)."""
    if _config(repo, _OWNER) != owner:
        subprocess.run(["git", "config", _OWNER, owner], cwd=repo, check=True)


def restore(repo: Path, store: ObjectStore, key: str, wanted: list[str]) -> bool:
    """Fetch the bundle's branches into `repo` when it lacks any of the `wanted` commits (the
    live releases' commits); True when the bundle was fetched. A missing bundle or one the store
    cannot give leaves the repository as it is (the client then sends what it lacks)."""
    if all(holds(repo, commit) for commit in wanted):
        return False
    with tempfile.TemporaryDirectory(prefix="laambda-bundle-") as tmp:
        bundle = Path(tmp) / "repo.bundle"
        if not _download(repo, store, key, bundle):
            return False
        # into the branches as the bundle has them; the caller aligns them with the live release
        subprocess.run(
            ["git", "fetch", "--quiet", "--force", str(bundle), "refs/heads/*:refs/heads/*"],
            cwd=repo,
            check=True,
            capture_output=True,
        )
    log.info("%s: restored from %s", repo.name, key)
    return True


def unbundle(repo: Path, store: ObjectStore, key: str) -> bool:
    """Add the objects of another repository's bundle (`key`) to `repo`, moving no ref of it
    (`git bundle unbundle`); True when they were added. A missing or unreadable bundle adds
    nothing. For a commit that repository holds and this one lacks (receiver/siblings.py)."""
    with tempfile.TemporaryDirectory(prefix="laambda-bundle-") as tmp:
        bundle = Path(tmp) / "repo.bundle"
        if not _download(repo, store, key, bundle):
            return False
        done = subprocess.run(
            ["git", "bundle", "unbundle", str(bundle)], cwd=repo, capture_output=True, text=True
        )
    if done.returncode != 0:
        log.warning("%s: could not take the objects of %s: %s", repo.name, key, done.stderr)
    return done.returncode == 0


def _download(repo: Path, store: ObjectStore, key: str, bundle: Path) -> bool:
    try:
        store.get_file(key, bundle)
    except ObjectMissing:
        log.info("%s: no bundle at %s: the client sends the whole history", repo.name, key)
        return False
    except (ClientError, BotoCoreError) as exc:
        log.warning("%s: could not read %s: %s", repo.name, key, exc)
        return False
    return True


def refs(repo: Path) -> str:
    """Every ref and its commit, to tell whether a push changed any."""
    listed = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname) %(objectname)"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout


def save(repo: Path, store: ObjectStore, key: str) -> bool:
    """Write the repository's bundle over the one before; False when it has no refs yet.
    Failures are logged, not raised: the push they follow was accepted and stays so."""
    if not refs(repo).strip():
        return False
    descriptor, name = tempfile.mkstemp(prefix="laambda-bundle-", suffix=".bundle")
    os.close(descriptor)
    try:
        subprocess.run(
            ["git", "bundle", "create", "--quiet", name, "--all"],
            cwd=repo,
            check=True,
            capture_output=True,
        )
        # replaced on purpose: the bundle is the repository's latest state, not a blob by content
        store.client.upload_file(name, store.bucket, key)
    except (subprocess.CalledProcessError, ClientError, BotoCoreError, OSError) as exc:
        log.warning("%s: could not keep its bundle at %s: %s", repo.name, key, exc)
        return False
    finally:
        Path(name).unlink(missing_ok=True)
    return True


def _config(repo: Path, name: str) -> str | None:
    found = subprocess.run(
        ["git", "config", "--get", name], cwd=repo, capture_output=True, text=True
    )
    return found.stdout.strip() if found.returncode == 0 else None
