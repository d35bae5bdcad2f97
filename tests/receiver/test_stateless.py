"""Receivers keep nothing of their own: a push through a receiver that lacks the app's
repository (a new host, a lost disk) is accepted, built and released, and the branch shows the
live commit (laambda/receiver/bundles.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from sqlalchemy import select

from laambda.db.models import App, Release
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.objectstore import ObjectStore
from laambda.receiver import bundles
from laambda.receiver.bundles import bundle_key
from laambda.receiver.repos import repository
from laambda.services.teardown import repository_owner
from tests.support.platform import python_app
from tests.support.receiver import Person, Site, commit, git, serving


def _remote_head(site: Site, person: Person, app: str) -> str:
    env = os.environ | {"GIT_SSH_COMMAND": person.ssh(site.port)}
    remote = subprocess.run(
        ["git", "ls-remote", site.url(app), "refs/heads/main"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return remote.stdout.split()[0]


def _versions(site: Site, app: str) -> list[int]:
    with session_scope(site.sessions) as session:
        row = session.scalars(select(App).where(App.name == app)).one()
        return sorted(
            session.scalars(select(Release.version).where(Release.app_id == row.id)).all()
        )


def _kept(store: ObjectStore, key: str) -> bool:
    """Whether the bundle reaches the store within 10 s: the receiver saves it after the
    pusher heard the push's outcome (laambda/receiver/server.py), so not before git returns."""
    deadline = time.monotonic() + 10
    while not store.exists(key):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_lost_disk_and_a_second_receiver_still_take_pushes(site: Site) -> None:
    alice = site.person("alice@example.com")
    app = site.app("stateless", alice)
    repo = site.repo("stateless", python_app(["web"]))
    git(repo, "remote", "add", "laambda", site.url("stateless"))
    first = site.push(repo, alice, "laambda")
    assert first.returncode == 0, first.stderr
    store = ObjectStore(aws.s3_client(site.settings), site.settings.artifact_bucket)
    assert _kept(store, bundle_key(repository_owner(app)))

    # the disk is lost: the repository comes back from the store before git shows the refs
    shutil.rmtree(site.settings.data_dir / "repos")
    assert _remote_head(site, alice, "stateless") == git(repo, "rev-parse", "HEAD")
    commit(repo, python_app(["web"], marker="second"), "second")
    second = site.push(repo, alice, "laambda")
    assert second.returncode == 0, second.stderr
    assert "Released v2" in second.stderr
    assert _remote_head(site, alice, "stateless") == git(repo, "rev-parse", "HEAD")

    # another receiver host, its own data directory, the same database, Redis and store:
    # it has never seen the app and takes the next push from the same clone
    other = site.settings.model_copy(update={"data_dir": site.tmp / "other-receiver"})
    with serving(other, site.sessions, site.tmp / "other") as second_host:
        git(repo, "remote", "add", "other", second_host.url("stateless"))
        commit(repo, python_app(["web"], marker="third"), "third")
        third = second_host.push(repo, alice, "other")
        assert third.returncode == 0, third.stderr
        assert "Released v3" in third.stderr
        assert _remote_head(second_host, alice, "stateless") == git(repo, "rev-parse", "HEAD")

    # and the first receiver, whose copy is now behind, shows the live commit and takes the
    # next push as a fast-forward
    assert _remote_head(site, alice, "stateless") == git(repo, "rev-parse", "HEAD")
    commit(repo, python_app(["web"], marker="fourth"), "fourth")
    fourth = site.push(repo, alice, "laambda")
    assert fourth.returncode == 0, fourth.stderr
    assert "Released v4" in fourth.stderr
    assert _versions(site, "stateless") == [1, 2, 3, 4]
    fetched = site.tmp / "fetched"
    env = os.environ | {"GIT_SSH_COMMAND": alice.ssh(site.port)}
    subprocess.run(["git", "clone", "-q", site.url("stateless"), str(fetched)], env=env, check=True)
    assert git(fetched, "rev-parse", "HEAD") == git(repo, "rev-parse", "HEAD")


def test_a_copy_left_by_an_earlier_app_of_the_same_name_is_not_reused(
    tmp_path: Path, object_store: ObjectStore
) -> None:
    path = tmp_path / "repos" / "thumbs.git"
    old = repository(tmp_path, "thumbs")
    bundles.mark(old, "app:1")
    subprocess.run(["git", "config", "laambda.example", "old"], cwd=old, check=True)

    bundles.claim(path, "app:1")  # its own copy stays
    assert (path / "HEAD").exists()
    bundles.claim(path, "app:2")  # the app made again under the name: the old copy goes
    assert not path.exists()
    fresh = repository(tmp_path, "thumbs")
    bundles.mark(fresh, "app:2")
    assert bundles.refs(fresh) == ""
    # no bundle kept yet for it: nothing restored, the client sends the whole history
    missing = "0" * 40
    never_kept = bundle_key("apps/2-20261130T000000000000")
    assert bundles.restore(fresh, object_store, never_kept, [missing]) is False
    assert bundles.save(fresh, object_store, never_kept) is False  # no refs: none
    assert not object_store.exists(never_kept)
