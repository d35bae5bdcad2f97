"""Functions run under bubblewrap when the machine has it, seeing only what Lambda gives a
function ("Lambda execution environment", AWS Lambda Developer Guide):

- its code read-only at /var/task (LAMBDA_TASK_ROOT) and the runtime client at /var/runtime;
- the interpreter that runs it and the system's libraries read-only (/usr and its links, the
  files of /etc that libc and TLS read); nothing else of the host: no home folder, data
  directory, checkout, other functions' code, nor the platform's credentials;
- a /tmp, /proc and /dev of its own; its own process ids, IPC, host name and network: no
  service on the host's loopback (the database, Redis, the API, moto) is reachable.

The one way out is its Runtime API: laambda serves it on a unix socket bound into the box at
SOCKET_INSIDE, and the build sandbox's forwarder (laambda.building.sandbox) relays the box's own
127.0.0.1:RUNTIME_API_PORT to it, so AWS_LAMBDA_RUNTIME_API reads as it does on Lambda.

Without bubblewrap (or where it cannot make namespaces), functions run as plain processes.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from laambda.building.sandbox import FORWARDER, FORWARDER_JS, system_mounts
from laambda.local.runtime.api import RUNTIME_API_PORT

TASK_ROOT = "/var/task"
RUNTIME_DIR = "/var/runtime"
SOCKET_INSIDE = "/run/laambda/runtime.sock"

Mount = tuple[Path, str]  # (a path on the host, where the function sees it), read-only


@functools.cache
def available() -> str | None:
    """bwrap's path when it can sandbox here (user namespaces allowed), else None."""
    bwrap = shutil.which("bwrap", path="/usr/local/bin:/usr/bin:/bin")
    if bwrap is None:
        return None
    try:
        tried = subprocess.run(
            [bwrap, "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc", "true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bwrap if tried.returncode == 0 else None


def forwarder(interpreter: str, language: str) -> list[str]:
    """The command prefix that relays the box's 127.0.0.1:RUNTIME_API_PORT to the Runtime API's
    socket and then runs the rest of the command line, with the runtime's own interpreter."""
    port = str(RUNTIME_API_PORT)
    if language == "node":
        return [interpreter, "-e", FORWARDER_JS, port, SOCKET_INSIDE]
    return [interpreter, "-I", "-S", "-c", FORWARDER, port, SOCKET_INSIDE]


def interpreter_root(executable: str) -> Path | None:
    """The installation folder an interpreter outside /usr needs visible (pyenv's, nvm's);
    None when it lives under /usr."""
    real = Path(executable).resolve()
    if real.is_relative_to("/usr"):
        return None
    return real.parent.parent


def wrap(
    command: list[str],
    *,
    mounts: Sequence[Mount],
    roots: Sequence[Path],
    socket: Path,
    relay: list[str],
) -> list[str]:
    """`command` boxed: `mounts` read-only where named, `roots` (interpreters' folders)
    read-only at their own paths, the Runtime API's `socket` at SOCKET_INSIDE, run behind
    `relay` (forwarder()). Raises RuntimeError when bubblewrap cannot run here."""
    bwrap = available()
    if bwrap is None:
        raise RuntimeError("bubblewrap cannot run here")
    # no --die-with-parent: it is tied to the thread that starts the process, and a request's
    # thread ends long before the warm environment it started; its owner kills its group
    args = [bwrap, "--unshare-all", "--cap-drop", "ALL", "--hostname", "localhost"]
    args += system_mounts()
    for root in roots:
        args += ["--ro-bind", str(root), str(root)]
    for source, seen_as in mounts:
        args += ["--ro-bind", str(source.resolve()), seen_as]
    args += ["--ro-bind", str(socket), SOCKET_INSIDE, "--chdir", TASK_ROOT]
    return [*args, "--", *relay, *command]
