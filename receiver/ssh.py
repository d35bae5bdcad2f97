"""The SSH server that takes `git push`: paramiko transports, public keys only, git commands
only, never a shell. One thread per connection; git runs as a child process whose standard
streams are pumped to and from the SSH channel."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import paramiko
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)

from laambda.config import Settings, get_settings, settings_env
from laambda.db.locks import LockKind, LockTimeout, advisory_lock
from laambda.db.session import get_engine, make_sessionmaker
from receiver.access import AccessDenied, Gate, Pusher
from receiver.commands import CommandRefused, GitCommand, parse_command
from receiver.repos import repository

log = logging.getLogger("laambda.receiver")
CHUNK = 32768


def host_key(data_dir: Path) -> paramiko.PKey:
    """Made on first start and kept, so clients never see the host key change."""
    path = data_dir / "ssh_host_rsa_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        key = paramiko.RSAKey.generate(3072)
        key.write_private_key_file(str(path))
        path.chmod(0o600)
    return paramiko.RSAKey.from_private_key_file(str(path))


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
        self.pusher = self.gate.identify(key.asbytes())
        return AUTH_SUCCESSFUL if self.pusher else AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:  # noqa: ARG002 (paramiko's interface)
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
        self.command = ""
        self.asked.set()
        return True

    def check_channel_pty_request(self, *args: object) -> bool:  # noqa: ARG002 (paramiko's interface)
        return False


class Receiver:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = get_engine(settings.database_url)
        self.gate = Gate(make_sessionmaker(self.engine))
        self.key = host_key(settings.data_dir)
        self.env = os.environ | settings_env(settings)
        self.listener: socket.socket | None = None
        self.stopping = threading.Event()

    def bind(self) -> int:
        """Listen on the configured address; returns the port (useful when it was 0)."""
        listener = socket.create_server((self.settings.ssh_host, self.settings.ssh_port))
        self.listener = listener
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
            self.listener.close()

    def _connection(self, client: socket.socket) -> None:
        transport = paramiko.Transport(client)
        transport.add_server_key(self.key)
        session = _Session(self.gate)
        try:
            transport.start_server(server=session)
            channel = transport.accept(timeout=30)
            if channel is None or not session.asked.wait(30):
                return
            assert session.pusher is not None
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
        channel.sendall_stderr(f"laambda: {message}\n".encode())
        channel.send_exit_status(1)
        channel.close()

    def _run(self, channel: paramiko.Channel, pusher: Pusher, command: str) -> None:
        try:
            git = parse_command(command)
            app_id = self.gate.authorize(pusher, git.app)
        except (CommandRefused, AccessDenied) as refused:
            self._refuse(channel, str(refused))
            return
        if not git.pushes:
            status = self._git(channel, git, pusher)
        else:
            # taken before git shows the refs: a push that waited sees what the one before it
            # left, so its ref update cannot be overtaken after it was built
            try:
                with advisory_lock(
                    self.engine,
                    LockKind.PUSH,
                    app_id,
                    timeout=self.settings.push_lock_timeout,
                    on_wait=lambda: channel.sendall_stderr(
                        f"laambda: another push to {git.app} is being deployed; "
                        "waiting for it to finish\n".encode()
                    ),
                ):
                    status = self._git(channel, git, pusher)
            except LockTimeout:
                self._refuse(
                    channel,
                    f"another push to {git.app} is still being deployed after "
                    f"{self.settings.push_lock_timeout:.0f} s; try again when it is done",
                )
                return
        channel.send_exit_status(status)
        channel.close()

    def _git(self, channel: paramiko.Channel, git: GitCommand, pusher: Pusher) -> int:
        repo = repository(self.settings.data_dir, git.app)
        env = self.env | {"LAAMBDA_PUSH_APP": git.app, "LAAMBDA_PUSH_USER_ID": str(pusher.user_id)}
        with subprocess.Popen(
            ["git", git.verb.removeprefix("git-"), str(repo)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        ) as process:
            assert process.stdin is not None
            assert process.stdout is not None
            assert process.stderr is not None
            pumps = [
                threading.Thread(target=_to_process, args=(channel, process.stdin), daemon=True),
                threading.Thread(target=_to_channel, args=(process.stdout, channel.sendall)),
                threading.Thread(target=_to_channel, args=(process.stderr, channel.sendall_stderr)),
            ]
            for pump in pumps:
                pump.start()
            status = process.wait()
            for pump in pumps[1:]:
                pump.join()
        return status


def _to_process(channel: paramiko.Channel, stdin: IO[bytes]) -> None:
    """The client's bytes to git; git's end of input when the client closes its side."""
    try:
        while data := channel.recv(CHUNK):
            stdin.write(data)
            stdin.flush()
    except (OSError, EOFError):
        pass
    finally:
        with contextlib.suppress(OSError):
            stdin.close()


def _to_channel(stream: IO[bytes], send: Callable[[bytes], object]) -> None:
    """git's bytes to the client; once the client is gone, keep draining so git (and the build
    it waits on) runs to its end."""
    connected = True
    while data := os.read(stream.fileno(), CHUNK):
        if connected:
            try:
                send(data)
            except (OSError, EOFError, paramiko.SSHException):
                connected = False


def serve() -> None:
    """`laambda receiver`: serve until stopped."""
    settings = get_settings()
    receiver = Receiver(settings)
    port = receiver.bind()
    log.warning("laambda receiver on %s:%d", settings.ssh_host, port)
    try:
        receiver.serve_forever()
    finally:
        receiver.stop()
