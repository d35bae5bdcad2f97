"""Everything decided before git sees a byte: the host key, the user's key, the command, the app,
the permission and the per-app push lock. No worker runs here (`front`)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import paramiko
import pytest
from sqlalchemy import select

from laambda.db.locks import LockKind, advisory_lock
from laambda.db.models import App, Build, User
from laambda.db.session import get_engine, session_scope
from laambda.deploy import aws
from laambda.objectstore import ObjectStore
from laambda.services.build import build_service
from tests.support.platform import python_app
from tests.support.receiver import Person, Site, git, serving


def server_key(port: int) -> paramiko.PKey:
    transport = paramiko.Transport(("127.0.0.1", port))
    try:
        transport.start_client(timeout=10)
        return transport.get_remote_server_key()
    finally:
        transport.close()


def ssh(site: Site, person: Person, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*person.ssh(site.port).split(), "git@127.0.0.1", command],
        capture_output=True,
        text=True,
        timeout=60,
    )


def clone(site: Site, person: Person, url: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"GIT_SSH_COMMAND": person.ssh(site.port)}
    target = site.tmp / "clones" / f"clone-{time.monotonic_ns()}"
    return subprocess.run(
        ["git", "clone", url, str(target)], env=env, capture_output=True, text=True, timeout=60
    )


def app_id(site: Site, name: str) -> int:
    with session_scope(site.sessions) as session:
        return session.scalars(select(App.id).where(App.name == name)).one()


class TestHostKey:
    def test_made_once_and_kept_across_restarts(self, front: Site) -> None:
        first = server_key(front.port)
        path = front.settings.data_dir / "ssh_host_key"
        assert path.stat().st_mode & 0o777 == 0o600
        with serving(front.settings, front.sessions, front.tmp) as again:
            assert again.port != front.port
            assert server_key(again.port) == first
        assert path.stat().st_mode & 0o777 == 0o600

    def test_a_new_key_is_ed25519_and_openssh_accepts_it(self, front: Site) -> None:
        assert server_key(front.port).get_name() == "ssh-ed25519"
        # OpenSSH's own client is offered it
        done = subprocess.run(
            ["ssh-keyscan", "-p", str(front.port), "-t", "ed25519", "127.0.0.1"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert f"[127.0.0.1]:{front.port} ssh-ed25519 " in done.stdout, done.stderr

    def test_an_rsa_key_an_earlier_version_made_is_kept(self, front: Site) -> None:
        data_dir = front.tmp / f"earlier-{time.monotonic_ns()}"
        data_dir.mkdir()
        rsa = paramiko.RSAKey.generate(2048)
        rsa.write_private_key_file(str(data_dir / "ssh_host_rsa_key"))
        settings = front.settings.model_copy(update={"data_dir": data_dir})
        with serving(settings, front.sessions, front.tmp) as site:
            served = server_key(site.port)
        assert served.get_name() == "ssh-rsa"
        assert served.fingerprint == rsa.fingerprint
        assert (data_dir / "ssh_host_key").exists()
        assert not (data_dir / "ssh_host_rsa_key").exists()


class TestAuthentication:
    def test_passwords_and_keyboard_interactive_are_refused(self, front: Site) -> None:
        transport = paramiko.Transport(("127.0.0.1", front.port))
        try:
            transport.start_client(timeout=10)
            with pytest.raises(paramiko.BadAuthenticationType) as refused:
                transport.auth_password("git", "secret")
            assert refused.value.allowed_types == ["publickey"]
        finally:
            transport.close()
        done = subprocess.run(
            [
                "ssh",
                "-p",
                str(front.port),
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "PreferredAuthentications=password,keyboard-interactive",
                "git@127.0.0.1",
                "git-receive-pack 'thumbs'",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 255
        assert "Permission denied (publickey)" in done.stderr

    def test_an_unknown_key_is_refused(self, front: Site) -> None:
        alice = front.person("alice@example.com")
        stranger = front.person("eve@example.com", key=False)
        front.app("private", alice)
        repo = front.repo("private", python_app(["web"]))
        pushed = front.push(repo, stranger, front.url("private"))
        assert pushed.returncode != 0
        assert "Permission denied (publickey)" in pushed.stderr


class TestCommands:
    @pytest.mark.parametrize(
        ("command", "says"),
        [
            ("ls -la", "laambda: 'ls' is not allowed here"),
            ("git-receive-pack 'private/../x'", "laambda: 'private/../x' is not an app"),
            ("git-upload-archive 'private'", "laambda: 'git-upload-archive' is not allowed here"),
            ("git-receive-pack 'private'; id", "laambda: git-receive-pack takes one app"),
        ],
    )
    def test_anything_but_git_is_refused_on_stderr(
        self, front: Site, command: str, says: str
    ) -> None:
        alice = front.person("alice@example.com")
        front.app("private", alice)
        done = ssh(front, alice, command)
        assert done.returncode == 1, command
        assert done.stderr.startswith(says), done.stderr
        assert done.stdout == ""

    def test_no_shell(self, front: Site) -> None:
        alice = front.person("alice@example.com")
        done = subprocess.run(
            [*alice.ssh(front.port).split(), "-T", "git@127.0.0.1"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        assert "laambda: '(nothing)' is not allowed here" in done.stderr


class TestAuthorization:
    def test_unknown_app_and_stranger_are_refused_before_any_data(self, front: Site) -> None:
        alice = front.person("alice@example.com")
        bob = front.person("bob@example.com")
        front.app("private", alice)
        repo = front.repo("private", python_app(["web"]))

        unknown = front.push(repo, alice, front.url("nosuchapp"))
        assert unknown.returncode != 0
        assert (
            "laambda: app 'nosuchapp' does not exist; "
            "create it with `laambda apps:create nosuchapp`"
        ) in unknown.stderr
        pushed = front.push(repo, bob, front.url("private"))
        assert pushed.returncode != 0
        assert "permission denied: you are not a collaborator of 'private'" in pushed.stderr
        cloned = clone(front, bob, front.url("private"))
        assert cloned.returncode != 0
        assert "permission denied: you are not a collaborator of 'private'" in cloned.stderr
        # refused before git ran: no repository was even made
        assert not (front.settings.data_dir / "repos").exists()

    def test_collaborators_and_admins_clone_with_any_url_form(self, front: Site) -> None:
        alice = front.person("alice@example.com")
        root = front.person("root@example.com", admin=True)
        front.app("shared", alice)
        for person, url in [
            (alice, front.url("shared")),
            (alice, front.url("shared") + ".git"),
            (root, "git@127.0.0.1:/shared.git"),
            (root, "git@127.0.0.1:shared"),  # the port comes from GIT_SSH_COMMAND
        ]:
            cloned = clone(front, person, url)
            assert cloned.returncode == 0, (url, cloned.stderr)
            assert "empty repository" in cloned.stderr


class TestPushLock:
    def test_a_push_waits_with_keepalive_lines_then_gives_up(self, front: Site) -> None:
        alice = front.person("alice@example.com")
        front.app("busy", alice)
        repo = front.repo("busy", python_app(["web"]))
        engine = get_engine(front.settings.database_url)
        started = time.monotonic()
        with advisory_lock(engine, LockKind.PUSH, app_id(front, "busy")):
            pushed = front.push(repo, alice, front.url("busy"))
        assert time.monotonic() - started >= 2.0
        assert pushed.returncode != 0
        lines = pushed.stderr.splitlines()
        assert (
            lines[0] == "laambda: another push to busy is being deployed; waiting for it to finish"
        )
        assert any(
            line.startswith("laambda: still waiting for the push before yours (") for line in lines
        )
        assert (
            "laambda: another push to busy is still being deployed after 2 s; "
            "try again when it is done"
        ) in lines
        assert not (front.settings.data_dir / "repos" / "busy.git").exists()

    def test_the_waiting_push_goes_on_once_the_lock_is_free(self, front: Site) -> None:
        alice = front.person("alice@example.com")
        front.app("busy", alice)
        repo = front.repo("busy", python_app(["web"]))
        engine = get_engine(front.settings.database_url)
        env = os.environ | {"GIT_SSH_COMMAND": alice.ssh(front.port)}
        with advisory_lock(engine, LockKind.PUSH, app_id(front, "busy")):
            # a branch the hook refuses at once: no worker is needed to see the push get there
            push = subprocess.Popen(
                ["git", "push", front.url("busy"), "main:feature"],
                cwd=repo,
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert push.stderr is not None
            assert "waiting for it to finish" in push.stderr.readline()
        _, rest = push.communicate(timeout=60)
        assert push.returncode != 0
        assert "remote:  !     Push rejected: pushed to 'feature'" in rest
        assert "another push to busy is still being deployed" not in rest

    def test_a_pusher_who_hangs_up_while_waiting_is_let_go(self, front: Site) -> None:
        alice = front.person("alice@example.com")
        front.app("busy", alice)
        repo = front.repo("busy", python_app(["web"]))
        engine = get_engine(front.settings.database_url)
        env = os.environ | {"GIT_SSH_COMMAND": alice.ssh(front.port)}
        with advisory_lock(engine, LockKind.PUSH, app_id(front, "busy")):
            push = subprocess.Popen(
                ["git", "push", front.url("busy"), "main"],
                cwd=repo,
                env=env,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            assert push.stderr is not None
            assert "waiting for it to finish" in push.stderr.readline()
            os.killpg(push.pid, signal.SIGKILL)  # git and its ssh, as Ctrl-C would
            push.wait()
            push.stderr.close()
            time.sleep(1.5)  # the receiver looks every 0.5 s
        time.sleep(1.0)
        # had it kept waiting, it would have taken the free lock and started git by now
        assert not (front.settings.data_dir / "repos" / "busy.git").exists()

    def test_a_push_to_another_app_does_not_wait(self, front: Site) -> None:
        alice = front.person("alice@example.com")
        front.app("busy", alice)
        front.app("free", alice)
        repo = front.repo("free", python_app(["web"]))
        engine = get_engine(front.settings.database_url)
        with advisory_lock(engine, LockKind.PUSH, app_id(front, "busy")):
            # the hook refuses this branch at once: it got past the lock without waiting
            pushed = front.push(repo, alice, front.url("free"), "main:feature")
        assert "remote:  !     Push rejected: pushed to 'feature'" in pushed.stderr
        assert "waiting" not in pushed.stderr


class TestWithoutWorker:
    def test_a_queued_build_says_so_and_a_cancel_ends_the_push(self, front: Site) -> None:
        alice = front.person("alice@example.com")
        front.app("idle", alice)
        repo = front.repo("idle", python_app(["web"]))
        env = os.environ | {"GIT_SSH_COMMAND": alice.ssh(front.port)}
        push = subprocess.Popen(
            ["git", "push", front.url("idle"), "main"],
            cwd=repo,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert push.stderr is not None
        seen: list[str] = []
        for line in push.stderr:
            seen.append(line)
            if "waiting for a worker to take the build" in line:
                break
        with session_scope(front.sessions) as session:
            build = session.scalars(select(Build)).one()
            assert build.commit == git(repo, "rev-parse", "HEAD")
            assert f"remote: -----> Build {build.id} queued" in "".join(seen)
            build_service.cancel(session, build, user=session.get_one(User, alice.user.id))
        _, rest = push.communicate(timeout=60)
        assert push.returncode != 0
        assert "remote:  !     Push rejected: cancelled before it started" in rest
        assert "pre-receive hook declined" in rest
        refs = subprocess.run(
            ["git", "ls-remote", front.url("idle")], env=env, capture_output=True, text=True
        )
        assert (refs.returncode, refs.stdout) == (0, "")  # the ref never moved
        # the source is where the worker would have fetched it from
        store = ObjectStore(aws.s3_client(front.settings), front.settings.artifact_bucket)
        assert store.exists(f"sources/idle/{build.commit}.tar.gz")
