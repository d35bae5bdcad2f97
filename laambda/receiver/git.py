"""git itself serves the pack protocol: `git receive-pack` or `git upload-pack` runs as a child
process (never through a shell) whose standard streams are pumped to and from the SSH channel.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

import paramiko

from laambda.receiver.commands import GitCommand

CHUNK = 32768


def run_git(
    channel: paramiko.Channel, command: GitCommand, repo: Path, env: Mapping[str, str]
) -> int:
    """Serve one git command on the channel; git's exit status.

    When the client hangs up, git keeps running to its end (a push's pre-receive step is
    waiting on a build that must still be recorded), and its output is drained.
    """
    with subprocess.Popen(
        ["git", command.verb.removeprefix("git-"), str(repo)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
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
    except (OSError, EOFError, ValueError):
        pass  # git is done reading (closed pipe) or the client is gone
    finally:
        with contextlib.suppress(OSError):
            stdin.close()


def _to_channel(stream: IO[bytes], send: Callable[[bytes], object]) -> None:
    """git's bytes to the client; once the client is gone, keep draining so git (and the build
    it waits on) runs to its end instead of stalling on a full pipe."""
    connected = True
    while data := os.read(stream.fileno(), CHUNK):
        if connected:
            try:
                send(data)
            except (OSError, EOFError, paramiko.SSHException):
                connected = False
