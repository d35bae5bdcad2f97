"""What `git push` says, the deploy branch and the live release agree: after a build that is
quiet for longer than any client timeout, after a refusal that comes late, after the receiver
dies mid-push, and after a rollback.

The quiet builds come from a real worker that sleeps silently at the start of each build
(tests/receiver/quiet/sitecustomize.py); the receiver, Redis stream and git are the real ones.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from laambda.config import Settings, settings_env
from laambda.crypto import Cipher
from laambda.db.models import App, AuditEvent, Release, User
from laambda.db.session import session_scope
from laambda.services.release import release_service
from laambda.worker.enqueue import CeleryQueue
from tests.support.aws import ensure_role
from tests.support.live_worker import LiveWorker, start_worker
from tests.support.net import free_port
from tests.support.platform import python_app
from tests.support.receiver import Site, commit, git, live_release, ls_remote, serving

# the receiver's progress line comes every KEEPALIVE seconds of silence: longer than redis-py
# 8's default socket timeout (5 s), which once ended such pushes with a TimeoutError
KEEPALIVE = 6.0
QUIET_SECONDS = 9.0
QUIET = Path(__file__).parent / "quiet"


@pytest.fixture(scope="module")
def quiet_worker(live_worker: LiveWorker) -> Iterator[LiveWorker]:
    """A second real worker, on a queue of its own, whose builds are silent at first."""
    settings = live_worker.settings.model_copy(
        update={"queue": f"laambda-quiet-{uuid.uuid4().hex[:8]}"}
    )
    env = live_worker.env | settings_env(settings)
    env |= {"PYTHONPATH": str(QUIET), "LAAMBDA_TEST_QUIET_SECONDS": str(QUIET_SECONDS)}
    process, output = start_worker(env)
    yield LiveWorker(settings, env, process, output)
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _receiver_settings(worker: LiveWorker, data_dir: Path) -> Settings:
    settings = worker.settings.model_copy(
        update={"ssh_port": 0, "data_dir": data_dir, "push_lock_timeout": 120.0}
    )
    ensure_role(settings)
    return settings


@pytest.fixture
def quiet_site(
    quiet_worker: LiveWorker, committed_sessions: sessionmaker[Session], tmp_path: Path
) -> Iterator[Site]:
    settings = _receiver_settings(quiet_worker, tmp_path / "receiver")
    with serving(settings, committed_sessions, tmp_path, keepalive=KEEPALIVE) as running:
        yield running


def wait_for_release(sessions: sessionmaker[Session], version: int) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with session_scope(sessions) as session:
            status = session.scalar(select(Release.status).where(Release.version == version))
        if status in ("succeeded", "failed", "abandoned"):
            return str(status)
        time.sleep(0.3)
    raise AssertionError(f"v{version} did not end within 120 s")


class TestQuietBuild:
    def test_a_long_silence_ends_with_the_push_accepted_and_the_ref_live(
        self, quiet_site: Site
    ) -> None:
        alice = quiet_site.person("alice@example.com")
        quiet_site.app("hush", alice)
        repo = quiet_site.repo("hush", python_app(["web"]))
        git(repo, "remote", "add", "laambda", quiet_site.url("hush"))

        started = time.monotonic()
        pushed = quiet_site.push(repo, alice, "laambda")
        assert time.monotonic() - started > QUIET_SECONDS

        assert pushed.returncode == 0, pushed.stderr
        assert "Timeout" not in pushed.stderr
        assert "Traceback" not in pushed.stderr
        assert "remote: -----> … still working" in pushed.stderr
        assert "remote: -----> Released v1: hush-web" in pushed.stderr
        head = git(repo, "rev-parse", "HEAD")
        assert live_release(quiet_site.sessions, "hush") == (1, head)
        assert ls_remote(quiet_site, alice, "hush") == head

    def test_a_refusal_after_the_silence_reaches_the_pusher_and_keeps_the_ref(
        self, quiet_site: Site
    ) -> None:
        alice = quiet_site.person("alice@example.com")
        quiet_site.app("late", alice)
        repo = quiet_site.repo("late", python_app(["web"]))
        git(repo, "remote", "add", "laambda", quiet_site.url("late"))
        assert quiet_site.push(repo, alice, "laambda").returncode == 0
        good = git(repo, "rev-parse", "HEAD")

        commit(repo, {"Procfile": "web: web_mod.handler\nworker: missing_mod.run\n"}, "broken")
        pushed = quiet_site.push(repo, alice, "laambda")

        assert pushed.returncode != 0
        assert "remote: -----> … still working" in pushed.stderr
        assert "remote:  !     Push rejected:" in pushed.stderr
        assert "missing_mod.py" in pushed.stderr.split("Push rejected:")[1]
        assert "pre-receive hook declined" in pushed.stderr
        assert ls_remote(quiet_site, alice, "late") == good
        assert live_release(quiet_site.sessions, "late") == (1, good)


class TestReceiverDies:
    def test_the_branch_follows_the_release_on_the_next_fetch_and_push(
        self,
        quiet_worker: LiveWorker,
        committed_sessions: sessionmaker[Session],
        tmp_path: Path,
    ) -> None:
        """The receiver (with git and the hook under it) is killed while the build is quiet;
        the worker releases it; the next receiver on the same data shows the released commit."""
        settings = _receiver_settings(quiet_worker, tmp_path / "receiver")
        with serving(settings, committed_sessions, tmp_path) as site:
            alice = site.person("alice@example.com")
            site.app("orphan", alice)
            repo = site.repo("orphan", python_app(["web"]))
            assert site.push(repo, alice, site.url("orphan"), "main").returncode == 0
        first = git(repo, "rev-parse", "HEAD")
        second = commit(repo, python_app(["web"], marker="second"), "second")

        port = free_port()
        receiver = subprocess.Popen(
            [sys.executable, "-c", "from laambda.receiver.server import serve; serve()"],
            env=os.environ | settings_env(settings.model_copy(update={"ssh_port": port})),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: git and the hook die with it
        )
        try:
            _wait_listening(port)
            env = os.environ | {"GIT_SSH_COMMAND": alice.ssh(port)}
            push = subprocess.Popen(
                ["git", "push", f"ssh://git@127.0.0.1:{port}/orphan", "main"],
                cwd=repo,
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert push.stderr is not None
            for line in push.stderr:
                if "queued (laambda builds:info" in line:
                    break
            os.killpg(receiver.pid, signal.SIGKILL)
            push.wait(timeout=30)
            push.stderr.close()
            assert push.returncode != 0
        finally:
            receiver.wait(timeout=30)

        assert wait_for_release(committed_sessions, 2) == "succeeded"
        bare = settings.data_dir / "repos" / "orphan.git"
        assert git(bare, "rev-parse", "refs/heads/main") == first  # the dead push moved nothing
        with serving(settings, committed_sessions, tmp_path) as site:
            assert ls_remote(site, alice, "orphan") == second
            assert live_release(committed_sessions, "orphan") == (2, second)
            # the pushed objects were on this receiver's disk only: the fetch that moved the
            # branch kept the repository in the store, so another receiver shows it too
            far = settings.model_copy(update={"data_dir": tmp_path / "far-receiver"})
            with serving(far, committed_sessions, tmp_path) as other:
                assert ls_remote(other, alice, "orphan") == second
            with session_scope(committed_sessions) as session:
                event = session.scalars(
                    select(AuditEvent).where(AuditEvent.action == "branch.align")
                ).one()
                assert (event.app_name, event.user_id, event.detail) == (
                    "orphan",
                    None,
                    {"ref": "refs/heads/main", "commit": second},
                )
            again = site.push(repo, alice, site.url("orphan"), "main")
            assert again.returncode == 0
            assert "Everything up-to-date" in again.stderr


def test_a_rollback_moves_the_branch_to_its_commit_and_the_newer_one_deploys_again(
    site: Site,
) -> None:
    alice = site.person("alice@example.com")
    site.app("back", alice)
    repo = site.repo("back", python_app(["web"]))
    git(repo, "remote", "add", "laambda", site.url("back"))
    assert site.push(repo, alice, "laambda").returncode == 0
    first = git(repo, "rev-parse", "HEAD")
    second = commit(repo, python_app(["web"], marker="second"), "second")
    assert site.push(repo, alice, "laambda").returncode == 0

    with session_scope(site.sessions) as session:
        app = session.scalars(select(App).where(App.name == "back").with_for_update()).one()
        release_service.rollback(
            session,
            app,
            user=session.get_one(User, alice.user.id),
            version=1,
            cipher=Cipher(site.settings.secret_key),
            applier=CeleryQueue(site.settings),
        )
    assert wait_for_release(site.sessions, 3) == "succeeded"
    assert ls_remote(site, alice, "back") == first == live_release(site.sessions, "back")[1]

    pushed = site.push(repo, alice, "laambda")
    assert pushed.returncode == 0, pushed.stderr
    assert "Released v4" in pushed.stderr
    assert ls_remote(site, alice, "back") == second == live_release(site.sessions, "back")[1]


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the receiver did not listen on {port}")


def test_a_push_that_changes_nothing_is_accepted_and_its_commit_stays_on_the_branch(
    site: Site,
) -> None:
    alice = site.person("alice@example.com")
    site.app("same", alice)
    repo = site.repo("same", python_app(["web"]))
    git(repo, "remote", "add", "laambda", site.url("same"))
    assert site.push(repo, alice, "laambda").returncode == 0
    git(repo, "commit", "-q", "--allow-empty", "-m", "nothing new")
    empty = git(repo, "rev-parse", "HEAD")

    pushed = site.push(repo, alice, "laambda")

    assert pushed.returncode == 0, pushed.stderr
    assert "nothing changed; v1 is live" in pushed.stderr
    assert live_release(site.sessions, "same")[0] == 1  # no release was made
    # ls-remote aligns the branch first: the accepted commit stays, as the pusher was told
    assert ls_remote(site, alice, "same") == empty
    again = site.push(repo, alice, "laambda")
    assert again.returncode == 0
    assert "Everything up-to-date" in again.stderr
