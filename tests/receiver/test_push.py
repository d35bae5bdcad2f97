"""`git push` over ssh: authorized, built by the worker, streamed back, rejected when it fails."""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from laambda.config import Settings
from laambda.db.models import Release
from laambda.db.session import session_scope
from laambda.deploy import aws
from tests.support.platform import python_app
from tests.support.receiver import Site, commit, git, serving


def test_push_releases_and_shows_the_build(site: Site) -> None:
    alice = site.person("alice@example.com")
    site.app("thumbs", alice)
    repo = site.repo("thumbs", python_app(["create", "resize"]))
    git(repo, "remote", "add", "laambda", site.url("thumbs"))

    first = site.push(repo, alice, "laambda")
    assert first.returncode == 0, first.stderr
    assert "remote: -----> Python app detected (python3.12, x86_64)" in first.stderr
    assert "remote: -----> Deploying 2 functions: thumbs-create, thumbs-resize" in first.stderr
    assert "remote: -----> Released v1: thumbs-create, thumbs-resize" in first.stderr

    # a code change is live after the second push
    changed = python_app(["create", "resize"], marker="second")
    commit(repo, changed, "change")
    second = site.push(repo, alice, "laambda")
    assert second.returncode == 0, second.stderr
    assert "Released v2" in second.stderr
    with session_scope(site.sessions) as session:
        release = session.scalars(select(Release).where(Release.version == 2)).one()
        live_version = (release.function_versions or {})["thumbs-create"]
    lam = aws.lambda_client(site.settings)
    live = lam.get_function(FunctionName="thumbs-create", Qualifier="live")["Configuration"]
    assert live["Version"] == live_version
    archive = subprocess.run(
        ["git", "archive", "HEAD", "create_mod.py"], cwd=repo, capture_output=True, check=True
    )
    assert b"# second" in archive.stdout

    # the app can be cloned back, read-only
    clone = site.tmp / "clone"
    env = os.environ | {"GIT_SSH_COMMAND": alice.ssh(site.port)}
    subprocess.run(["git", "clone", "-q", site.url("thumbs"), str(clone)], env=env, check=True)
    assert git(clone, "rev-parse", "HEAD") == git(repo, "rev-parse", "HEAD")


def test_failing_build_rejects_the_push_and_keeps_the_ref(site: Site) -> None:
    alice = site.person("alice@example.com")
    site.app("broken", alice)
    good = python_app(["web"])
    repo = site.repo("broken", good)
    git(repo, "remote", "add", "laambda", site.url("broken"))
    assert site.push(repo, alice, "laambda").returncode == 0
    before = git(repo, "rev-parse", "HEAD")
    commit(repo, {"Procfile": "web: web_mod.handler\nworker: missing_mod.run\n"}, "broken")
    pushed = site.push(repo, alice, "laambda")
    assert pushed.returncode != 0
    assert "missing_mod.py" in pushed.stderr
    assert "pre-receive hook declined" in pushed.stderr
    env = os.environ | {"GIT_SSH_COMMAND": alice.ssh(site.port)}
    remote = subprocess.run(
        ["git", "ls-remote", site.url("broken"), "refs/heads/main"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert remote.stdout.split()[0] == before


def test_branch_rules_and_scp_style_remote(site: Site) -> None:
    alice = site.person("alice@example.com")
    site.app("branches", alice)
    repo = site.repo("branches", python_app(["web"]))
    remote = "git@127.0.0.1:branches"  # the port comes from GIT_SSH_COMMAND, like ~/.ssh/config
    other = site.push(repo, alice, remote, "main:feature")
    assert other.returncode != 0
    assert "laambda deploys the main branch" in other.stderr
    assert site.push(repo, alice, remote, "main").returncode == 0
    deleted = site.push(repo, alice, remote, ":main")
    assert deleted.returncode != 0
    assert "deleting the deploy branch is not allowed" in deleted.stderr


def test_concurrent_pushes_to_one_app_are_released_in_turn(site: Site) -> None:
    alice = site.person("alice@example.com")
    site.app("busy", alice)
    one = site.repo("one", python_app(["web"], marker="one"))
    two = site.repo("two", python_app(["web"], marker="two"))
    with ThreadPoolExecutor(2) as pool:
        pushes = list(
            pool.map(
                lambda repo: site.push(repo, alice, site.url("busy"), "main:main", "--force"),
                [one, two],
            )
        )
    assert [p.returncode for p in pushes] == [0, 0], [p.stderr for p in pushes]
    assert any("another push to busy is being deployed; waiting for it" in p.stderr for p in pushes)
    with session_scope(site.sessions) as session:
        versions = session.scalars(select(Release.version).order_by(Release.version)).all()
        assert list(versions) == [1, 2]


def test_a_pusher_who_hangs_up_does_not_stop_the_build(site: Site) -> None:
    alice = site.person("alice@example.com")
    site.app("gone", alice)
    repo = site.repo("gone", python_app(["web"]))
    env = os.environ | {"GIT_SSH_COMMAND": alice.ssh(site.port)}
    push = subprocess.Popen(
        ["git", "push", site.url("gone"), "main"],
        cwd=repo,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert push.stderr is not None
    for line in push.stderr:
        if "-----> Building gone" in line:
            break
    push.kill()
    push.wait()
    push.stderr.close()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with session_scope(site.sessions) as session:
            release = session.scalars(select(Release)).one_or_none()
            if release is not None and release.status == "succeeded":
                break
        time.sleep(0.2)
    assert release is not None
    assert (release.status, release.description) == (
        "succeeded",
        "Deploy " + git(repo, "rev-parse", "--short=7", "HEAD"),
    )
    # git still moves the branch as the pre-receive step ends: fetches then see what is live
    deadline, listed = time.monotonic() + 30, ""
    while time.monotonic() < deadline and listed != git(repo, "rev-parse", "HEAD"):
        time.sleep(0.2)
        listed = subprocess.run(
            ["git", "ls-remote", site.url("gone"), "refs/heads/main"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout[:40]
    assert listed == git(repo, "rev-parse", "HEAD")


def test_a_push_over_the_source_limit_is_refused_before_it_is_stored(
    settings: Settings,
    database_url: str,
    committed_sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    small = settings.model_copy(
        update={"database_url": database_url, "ssh_port": 0, "max_source_bytes": 200_000}
    )
    with serving(small, committed_sessions, tmp_path) as site:
        alice = site.person("alice@example.com")
        site.app("big", alice)
        repo = site.repo("big", {"blob.txt": os.urandom(1_000_000).hex()})
        git(repo, "remote", "add", "laambda", site.url("big"))

        pushed = site.push(repo, alice, "laambda")

    assert pushed.returncode != 0
    assert "pack exceeds maximum allowed size" in pushed.stderr
    objects = small.data_dir / "repos" / "big.git" / "objects"
    kept = sum(p.stat().st_size for p in objects.rglob("*") if p.is_file())
    assert kept < 200_000, kept  # nothing of the pack is kept in the repository


def test_an_empty_commit_is_refused_saying_what_was_looked_for(site: Site) -> None:
    """git archive of an empty tree is an archive Python's tarfile refuses to open: the push
    is told what a build looks for, as for any tree without an app."""
    alice = site.person("alice@example.com")
    site.app("empty1", alice)
    repo = site.tmp / "clones" / "empty1"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "empty")

    pushed = site.push(repo, alice, site.url("empty1"))

    assert pushed.returncode != 0
    assert "cannot be read as a tar file" not in pushed.stderr
    assert (
        "remote:  !     Push rejected: no supported app found at the root of the repository: "
        "looked for requirements.txt"
    ) in pushed.stderr, pushed.stderr
