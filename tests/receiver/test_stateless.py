"""Receivers keep nothing of their own: a push through a receiver that lacks the app's
repository (a new host, a lost disk) is accepted, built and released, and the branch shows the
live commit (laambda/receiver/bundles.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
from sqlalchemy import select

from laambda.db.models import App, Release
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.objectstore import ObjectStore
from laambda.receiver import bundles
from laambda.receiver.bundles import bundle_key
from laambda.receiver.repos import repository
from laambda.receiver.server import Receiver
from laambda.services.teardown import repository_owner
from tests.support.platform import python_app
from tests.support.receiver import Person, Site, commit, git, ls_remote, serving

# how long the bundle of a push through the "far" receiver takes to reach the store
SLOW_BUNDLE_SECONDS = 3.0


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


def test_a_lost_disk_and_a_second_receiver_still_take_pushes(site: Site) -> None:
    alice = site.person("alice@example.com")
    app = site.app("stateless", alice)
    repo = site.repo("stateless", python_app(["web"]))
    git(repo, "remote", "add", "laambda", site.url("stateless"))
    first = site.push(repo, alice, "laambda")
    assert first.returncode == 0, first.stderr
    store = ObjectStore(aws.s3_client(site.settings), site.settings.artifact_bucket)
    # kept before git returns: the pusher hears once the bundle is in the store
    assert store.exists(bundle_key(repository_owner(app)))

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


@contextmanager
def _slow_bundles(site: Site, data_dir: Path) -> Iterator[tuple[Site, list[float]]]:
    """A second receiver of the site's platform whose uploads of repository bundles take
    SLOW_BUNDLE_SECONDS (its real S3 client, held before each such upload); with the monotonic
    times each upload was let through."""
    receiver = Receiver(site.settings.model_copy(update={"data_dir": data_dir}))
    sent: list[float] = []

    def hold(params: dict[str, object], **_: object) -> None:
        if str(params.get("Key", "")).startswith("repos/"):
            time.sleep(SLOW_BUNDLE_SECONDS)
            sent.append(time.monotonic())

    # a client of its own: the process's shared one (aws.s3_client) serves the near receiver
    own = boto3.session.Session().client(
        "s3", region_name=site.settings.aws_region, endpoint_url=site.settings.aws_endpoint_url
    )
    own.meta.events.register("before-parameter-build.s3.PutObject", hold)
    receiver.store = ObjectStore(own, receiver.store.bucket)
    port = receiver.bind()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(receiver.settings, port, site.sessions, site.tmp), sent
    finally:
        receiver.stop()
        thread.join(timeout=5)


def test_a_fetch_through_another_receiver_right_after_a_push_shows_it(site: Site) -> None:
    """Behind a load balancer the fetch after a push may reach another receiver: `git push`
    returns only once the push's bundle is in the store and its push lock is free, so that
    receiver, whose copy lacks the commit (or the repository), shows it. The far receiver's
    bundles reach the store slowly here; before, the pusher heard first, and a fetch in
    between found the lock held and showed its own copy: no branch at all after a first push
    (a fleet run saw it after a worker host died mid-build and its build finished late)."""
    alice = site.person("alice@example.com")
    site.app("nearby", alice)
    repo = site.repo("nearby", python_app(["web"]))
    with _slow_bundles(site, site.tmp / "far-receiver") as (far, sent):
        for pushes in (1, 2):
            if pushes == 2:  # the near receiver's copy now has the first commit only
                commit(repo, python_app(["web"], marker="second"), "second")
            pushed = far.push(repo, alice, far.url("nearby"))
            returned = time.monotonic()
            assert pushed.returncode == 0, pushed.stderr
            assert f"Released v{pushes}" in pushed.stderr
            assert ls_remote(site, alice, "nearby") == git(repo, "rev-parse", "HEAD")
            assert len(sent) == pushes, sent
            assert sent[-1] < returned  # the bundle went before git returned


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
