"""The SSH server that takes `git push`: paramiko transports, public keys only, git commands
only, never a shell. One thread per connection; laambda/receiver/git.py serves the git command.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)
from sqlalchemy.exc import SQLAlchemyError

from laambda.config import Settings, get_settings, settings_env
from laambda.db.locks import LockKind, LockTimeout, advisory_lock
from laambda.db.models import App, Pipeline
from laambda.db.session import get_engine, make_sessionmaker, session_scope
from laambda.deploy import aws
from laambda.objectstore import ObjectStore
from laambda.receiver import bundles, siblings
from laambda.receiver.auth import AccessDenied, Gate, Pusher
from laambda.receiver.branch import align, align_pipeline, live_commit
from laambda.receiver.commands import CommandRefused, GitCommand, parse_command
from laambda.receiver.git import run_git
from laambda.receiver.hookserver import Expected, HookServer
from laambda.receiver.repos import pipeline_repository, repository
from laambda.services.audit import audit
from laambda.services.pipeline import pipeline_service
from laambda.services.teardown import (
    pipeline_repository_path,
    repository_owner,
    repository_path,
)
from laambda.trace import mark

log = logging.getLogger("laambda.receiver")
HOST_KEY = "ssh_host_key"
# proxies and clients drop a connection that is silent for long; a line this often prevents it
KEEPALIVE_SECONDS = 15.0


def host_key(data_dir: Path) -> paramiko.PKey:
    """The receiver's ssh host key, `<data_dir>/ssh_host_key` (mode 0600): made on first start
    and kept, so clients never see the host key change. A new key is Ed25519, the type OpenSSH
    prefers since 6.5 (ssh-keygen's default since 9.5), made in microseconds where RSA-3072
    took a second of CPU; a key kept from an earlier version (RSA) is served as it is. Raises
    ValueError for a file that holds no private key (paramiko.PKey.from_path)."""
    path = data_dir / HOST_KEY
    earlier = data_dir / "ssh_host_rsa_key"  # where the first receivers kept it
    if not path.exists() and earlier.exists():
        earlier.rename(path)
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()
        )
        # whole or not at all: a receiver starting beside this one reads a complete key
        made = path.with_name(f".{HOST_KEY}.{os.getpid()}")
        with os.fdopen(os.open(made, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fp:
            fp.write(key)
        made.replace(path)
    return paramiko.PKey.from_path(path)


class _Session(paramiko.ServerInterface):
    """One connection's answers to paramiko: who is this, and what do they ask to run."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.pusher: Pusher | None = None
        self.command: str | None = None
        self.asked = threading.Event()

    def get_allowed_auths(self, username: str) -> str:  # noqa: ARG002 (paramiko's interface)
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:  # noqa: ARG002 (paramiko's interface)
        # paramiko asks before it checks the signature, and again for every key offered: the
        # pusher is the owner of the key of the last answer, the one authentication succeeds with
        self.pusher = self.gate.identify(key.asbytes())
        return AUTH_SUCCESSFUL if self.pusher else AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:  # noqa: ARG002 (paramiko's interface)
        return AUTH_FAILED

    def check_auth_interactive(self, username: str, submethods: str) -> int:  # noqa: ARG002 (paramiko's interface)
        return AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:  # noqa: ARG002 (paramiko's interface)
        if kind == "session":
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:  # noqa: ARG002 (paramiko's interface)
        self.command = command.decode("utf-8", "replace")
        self.asked.set()
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:  # noqa: ARG002 (paramiko's interface)
        self.command = ""  # refused with the usage line, which beats a silent hang
        self.asked.set()
        return True

    def check_channel_pty_request(self, *args: object) -> bool:  # noqa: ARG002 (paramiko's interface)
        return False


class Receiver:
    def __init__(self, settings: Settings, *, keepalive: float = KEEPALIVE_SECONDS) -> None:
        self.settings = settings
        self.keepalive = keepalive
        self.engine = get_engine(settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.gate = Gate(self.sessions)
        self.key: paramiko.PKey | None = None
        self.env = os.environ | settings_env(settings)
        # where each repository is kept between pushes (laambda/receiver/bundles.py)
        self.store = ObjectStore(aws.s3_client(settings), settings.artifact_bucket)
        self.listener: socket.socket | None = None
        self.hooks: HookServer | None = None
        self.stopping = threading.Event()

    def bind(self) -> int:
        """Listen on the configured address; returns the port (useful when it was 0).

        The port is taken before the host key is made: a client that comes meanwhile waits in
        the backlog instead of being refused."""
        listener = socket.create_server((self.settings.ssh_host, self.settings.ssh_port))
        self.listener = listener
        self.hooks = HookServer(self.settings)
        self.key = host_key(self.settings.data_dir)
        port: int = listener.getsockname()[1]
        return port

    def serve_forever(self) -> None:
        assert self.listener is not None
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(client,), daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        if self.listener is not None:
            # close() alone leaves a thread blocked in accept() waiting; shutdown() wakes it
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
        if self.hooks is not None:
            self.hooks.close()

    def _connection(self, client: socket.socket) -> None:
        assert self.key is not None
        mark("ssh.accepted")
        transport = paramiko.Transport(client)
        transport.add_server_key(self.key)
        # a client that vanished (a laptop gone to sleep) is found out by writing to it; until
        # then its connection would hold the app's push lock
        transport.set_keepalive(max(1, int(self.keepalive * 2)))
        session = _Session(self.gate)
        try:
            transport.start_server(server=session)
            channel = transport.accept(timeout=30)
            if channel is None or not session.asked.wait(30):
                return
            assert session.pusher is not None
            mark("ssh.command")
            self._run(channel, session.pusher, session.command or "")
        except (paramiko.SSHException, EOFError, OSError) as exc:
            log.info("connection ended: %s", exc)
        finally:
            # let the client read the last bytes and hang up first; closing at once can cut them
            deadline = time.monotonic() + 10
            while transport.is_active() and time.monotonic() < deadline:
                time.sleep(0.05)
            transport.close()

    def _refuse(self, channel: paramiko.Channel, message: str) -> None:
        _tell(channel, message)
        channel.send_exit_status(1)
        channel.close()

    def _run(self, channel: paramiko.Channel, pusher: Pusher, command: str) -> None:
        try:
            git = parse_command(command)
            if git.pipeline:
                kind, key = LockKind.PIPELINE_PUSH, self.gate.authorize_pipeline(pusher, git.app)
            else:
                kind, key = LockKind.PUSH, self.gate.authorize(pusher, git.app)
        except (CommandRefused, AccessDenied) as refused:
            log.info("refused %s: %r: %s", pusher.email, command, refused)
            self._refuse(channel, str(refused))
            return
        # one push per app, and one per pipeline: a pipeline's push may make a review app and
        # move any of its branches, so pushes to it wait for each other whatever their branch
        label = f"pipeline {git.app}" if git.pipeline else git.app
        with ExitStack() as held:
            if git.pushes:
                # taken before git shows the refs: a push that waited sees what the one before
                # it left, so git refuses a stale push before anything is built, and a built
                # push's ref update cannot fail afterwards because another one moved the branch
                try:
                    held.enter_context(self._push_lock(channel, label, kind, key))
                except LockTimeout:
                    self._refuse(
                        channel,
                        f"another push to {label} is still being deployed after "
                        f"{self.settings.push_lock_timeout:.0f} s; try again when it is done",
                    )
                    return
                aligned = self._align_any(git, key)
                before = self._refs(git)
                # named now, while the app is there: it may be destroyed while git runs
                bundle = self._bundle_key(git, key)
            else:
                # a fetch never waits for a push: the running push moves the branch itself
                with (
                    contextlib.suppress(LockTimeout),
                    advisory_lock(self.engine, kind, key, timeout=0),
                ):
                    if self._align_any(git, key) and (kept := self._bundle_key(git, key)):
                        # the branch followed a release its push did not live to report
                        # (that push's receiver died): the other receivers see it too
                        bundles.save(self._repo(git), self.store, kept)
                aligned, before, bundle = False, None, None
            status = self._git(channel, git, pusher)
            log.info("%s %s %s: exit %d", pusher.email, git.verb, label, status)
            if bundle is not None and (aligned or self._refs(git) != before):
                # before the lock goes, and before the pusher hears: once `git push` returns,
                # a fetch or push through any receiver finds this one's refs in the store (a
                # fetch through another receiver while the lock is held shows that
                # receiver's own copy, which may not have them)
                bundles.save(self._repo(git), self.store, bundle)
        channel.send_exit_status(status)
        channel.close()

    def _align_any(self, git: GitCommand, key: int) -> bool:
        """Align the app's (or pipeline's) branches; True when a ref was moved or removed."""
        if git.pipeline:
            return self._align_pipeline(git.app, key)
        return self._align(git.app, key)

    @contextmanager
    def _push_lock(
        self, channel: paramiko.Channel, app: str, kind: LockKind, key: int
    ) -> Iterator[None]:
        """One push per app at a time. The one that waits hears so at once and again every
        `keepalive` seconds, and gives up (LockTimeout) after settings.push_lock_timeout."""

        def waiting() -> None:
            _tell(channel, f"another push to {app} is being deployed; waiting for it to finish")

        started = time.monotonic()
        deadline = started + self.settings.push_lock_timeout
        with ExitStack() as held:
            first = True
            while True:
                try:
                    held.enter_context(
                        advisory_lock(
                            self.engine,
                            kind,
                            key,
                            timeout=max(0.0, min(self.keepalive, deadline - time.monotonic())),
                            on_wait=waiting if first else None,
                        )
                    )
                    break
                except LockTimeout:
                    if time.monotonic() >= deadline:
                        raise
                    if gone(channel):
                        raise EOFError(f"the pusher to {app} hung up while waiting") from None
                    waited = time.monotonic() - started
                    _tell(channel, f"still waiting for the push before yours ({waited:.0f} s)")
                first = False
            yield

    def _align(self, app: str, app_id: int) -> bool:
        """The deploy branch on the live release's commit before git shows it (see
        laambda/receiver/branch.py); True when it was moved. A failure is logged and the
        command served as it is."""
        try:
            with session_scope(self.sessions) as session:
                row = session.get_one(App, app_id)
                commit, owner = live_commit(session, row), repository_owner(row)
                wanted = [commit] if commit else []
                lenders = siblings.of_app(session, self.settings.data_dir, row, wanted)
            bundles.claim(repository_path(self.settings.data_dir, app), owner)
            repo = repository(self.settings.data_dir, app)
            bundles.mark(repo, owner)
            bundles.restore(repo, self.store, bundles.bundle_key(owner), wanted)
            if commit is not None:
                # made live through the pipeline's remote or by a promotion
                siblings.borrow(repo, commit, lenders, self.store)
            moved = align(repo, commit)
            if moved is None or commit is None:
                return False
            with session_scope(self.sessions) as session:
                audit.record(
                    session, None, action="branch.align", app=app, ref=moved, commit=commit
                )
            return True
        except (SQLAlchemyError, subprocess.CalledProcessError, OSError):
            log.exception("could not align %s's deploy branch with its live release", app)
            return False

    def _align_pipeline(self, pipeline: str, pipeline_id: int) -> bool:
        """Each branch of the pipeline's repository on the live commit of the app following
        it, and the branches no app follows removed (laambda/receiver/branch.py); True when
        any was."""
        try:
            with session_scope(self.sessions) as session:
                row = session.get_one(Pipeline, pipeline_id)
                followed = {
                    f"refs/heads/{app.branch}": live_commit(session, app)
                    for app in pipeline_service.followed(session, row)
                }
                owner = repository_owner(row)
                wanted = [commit for commit in followed.values() if commit]
                lenders = siblings.of_pipeline(session, self.settings.data_dir, row, wanted)
            bundles.claim(pipeline_repository_path(self.settings.data_dir, pipeline), owner)
            repo = pipeline_repository(self.settings.data_dir, pipeline)
            bundles.mark(repo, owner)
            bundles.restore(repo, self.store, bundles.bundle_key(owner), wanted)
            for commit in wanted:
                # made live through an app's own remote or by a promotion
                siblings.borrow(repo, commit, lenders, self.store)
            changed = align_pipeline(repo, followed)
            if not changed:
                return False
            with session_scope(self.sessions) as session:
                audit.record(session, None, action="branch.align", pipeline=pipeline, refs=changed)
            return True
        except (SQLAlchemyError, subprocess.CalledProcessError, OSError):
            log.exception("could not align pipeline %s's branches with its apps", pipeline)
            return False

    def _repo(self, git: GitCommand) -> Path:
        if git.pipeline:
            return pipeline_repository(self.settings.data_dir, git.app)
        return repository(self.settings.data_dir, git.app)

    def _refs(self, git: GitCommand) -> str | None:
        try:
            return bundles.refs(self._repo(git))
        except (subprocess.CalledProcessError, OSError):
            return None

    def _bundle_key(self, git: GitCommand, key: int) -> str | None:
        """Where the repository of the app (or pipeline) `key` is kept; None once it is gone."""
        try:
            with session_scope(self.sessions) as session:
                row: App | Pipeline | None = (
                    session.get(Pipeline, key) if git.pipeline else session.get(App, key)
                )
                return None if row is None else bundles.bundle_key(repository_owner(row))
        except SQLAlchemyError:
            log.exception("could not name the repository bundle of %s", git.app)
            return None

    def _git(self, channel: paramiko.Channel, git: GitCommand, pusher: Pusher) -> int:
        assert self.hooks is not None
        if git.pipeline:
            repo = pipeline_repository(self.settings.data_dir, git.app)
            expected = Expected(pusher.user_id, self.keepalive, pipeline=git.app)
        else:
            repo = repository(self.settings.data_dir, git.app)
            expected = Expected(pusher.user_id, self.keepalive, app=git.app)
        # the hook runs the push here, in this process (laambda/receiver/hookserver.py)
        hook = self.hooks.expect(expected) if git.pushes else {}
        env = (
            self.env
            | hook
            | {
                # git refuses a pack larger than the source limit before storing any of it, so a
                # push over the limit leaves nothing on disk (git >= 2.31 reads config from here)
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "receive.maxInputSize",
                "GIT_CONFIG_VALUE_0": str(self.settings.max_source_bytes),
            }
        )
        mark("git.start")
        try:
            return run_git(channel, git, repo, env)
        finally:
            self.hooks.forget(hook)
            mark("git.end")


def gone(channel: paramiko.Channel) -> bool:
    """Whether the client went away (or said it has nothing more to send)."""
    return bool(channel.closed or channel.eof_received) or not channel.get_transport().is_active()


def _tell(channel: paramiko.Channel, message: str) -> None:
    """A line for the person at the other end, on stderr, where ssh shows it as it comes."""
    try:
        channel.sendall_stderr(f"laambda: {message}\n".encode())
    except (OSError, EOFError, paramiko.SSHException):
        pass  # they hung up; what they asked for goes on or ends without them


def serve() -> None:
    """`laambda receiver`: serve until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("paramiko").setLevel(logging.WARNING)  # one line per packet otherwise
    settings = get_settings()
    receiver = Receiver(settings)
    port = receiver.bind()
    log.info("laambda receiver on %s:%d", settings.ssh_host, port)
    try:
        receiver.serve_forever()
    finally:
        receiver.stop()
