"""What every builder is given and must do, and running a host installer boxed (sandbox.py,
egress.py) with its output streamed.

A builder installs an app's dependencies for Lambda into an empty folder; the pipeline zips
that folder and caches it. Builders never see the app's own code, only its dependency files,
so the same dependencies give the same folder whatever else changed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from laambda.building.egress import EgressPolicy, egress_proxy
from laambda.building.sandbox import bwrap_command
from laambda.config import Settings, get_settings
from laambda.domain.runtime import Runtime
from laambda.errors import BuildFailed

Log = Callable[[str], None]
CANCELLED = "build cancelled"
# uv names the interpreter or environment it uses, a path of this server: never shown
_WHERE_LINE = re.compile(r"^\s*Using \S+ \S+ (?:interpreter|environment) at: ")
# system folders: the same on every Linux, named by installers (compilers, headers), kept
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc", "/dev", "/proc", "/sys")
HIDDEN = "…"


@dataclass(frozen=True)
class InstallPlan:
    """The dependencies to install: a folder of dependency files and the target platform."""

    runtime: Runtime
    architecture: str
    files: Path  # holds requirements.txt (Python) or package.json [+ lock] (Node.js)
    lockfile: str | None
    workdir: Path  # scratch space of this build
    cache_dir: Path  # download caches shared by builds on this host
    # which builds share the Docker builder's download cache, where package build scripts run
    # and could leave a poisoned wheel for the next build: the app's name keeps one app's
    # scripts away from another app's installs; "" shares it across all apps
    cache_scope: str = ""


class Builder(Protocol):
    name: str

    def install(
        self,
        plan: InstallPlan,
        out: Path,
        *,
        log: Log,
        cancel: threading.Event | None,
        timeout: float,
    ) -> None:
        """Install the plan's dependencies into `out`, streaming output to `log` line by line."""


@contextmanager
def stop_on(
    kill: Callable[[], None], *, cancel: threading.Event | None, timeout: float
) -> Iterator[None]:
    """Run the block; call `kill` if the build is cancelled or runs past `timeout` seconds,
    and then raise BuildFailed saying which (the block's own ending is then irrelevant)."""
    stopped: list[str] = []
    done = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while not done.wait(0.1):
            reason = CANCELLED if cancel is not None and cancel.is_set() else None
            if time.monotonic() > deadline:
                reason = f"build timed out after {timeout:.0f} s"
            if reason:
                stopped.append(reason)
                kill()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    except Exception:
        if not stopped:
            raise
    finally:
        done.set()
        watcher.join()
    if stopped:
        raise BuildFailed(stopped[0])


def run_streaming(
    command: Sequence[str],
    *,
    log: Log,
    cancel: threading.Event | None,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    egress: EgressPolicy | None = None,
) -> tuple[int, list[str]]:
    """Run an installer command in the build sandbox, sending each output line to `log` as it
    comes, without this server's paths (ServerPaths); (exit code, lines as written).

    The command sees only `env` on top of a fixed minimal environment, the system's programs,
    and the folders it names (its arguments, `env` values and `cwd` that are absolute paths:
    see sandbox.named_folders); its only network is the egress proxy, allowing what `egress`
    allows (default: the LAAMBDA_BUILD_EGRESS_* settings). The sandbox gets its own process
    group so cancelling or timing out stops everything in it.
    Raises BuildFailed on cancel or timeout, or when the sandbox cannot be made.
    """
    policy = egress if egress is not None else egress_policy(get_settings())
    named = [*command, *(env or {}).values(), *([str(cwd)] if cwd is not None else [])]
    shown = ServerPaths(named)
    with egress_proxy(policy, log=log) as proxy_socket:
        code, lines = _run_boxed(
            bwrap_command(command, env=env, cwd=cwd, proxy_socket=proxy_socket),
            log=log,
            shown=shown,
            cancel=cancel,
            timeout=timeout,
        )
    if code != 0 and lines and lines[0].startswith("bwrap: "):
        raise BuildFailed(
            f"the build sandbox could not start ({lines[0]}): the worker needs bubblewrap and "
            "the right to make namespaces (user namespaces, or root; in a container, a seccomp "
            "profile that allows them), or use the Docker builder (LAAMBDA_BUILDER=docker)"
        )
    return code, lines


class ServerPaths:
    """Rewrites an installer's output line so that no path of this server reaches the pusher:
    each path under the worker's data directory, laambda's interpreter and environment, the
    temporary folder, the home folder, the working folder, or a folder or file the command
    names (its arguments, environment values and working folder) becomes `…` plus what
    follows (`…/out/six.py`); uv's "Using CPython 3.11.7 interpreter at: …" lines are
    dropped. System folders (/usr, /lib…) stay as they are."""

    def __init__(self, named: Iterable[str]) -> None:
        places = {
            sys.prefix,
            sys.exec_prefix,
            sys.base_prefix,
            os.path.dirname(sys.executable),
            tempfile.gettempdir(),
            "/tmp",
            str(Path.home()),
            str(get_settings().data_dir),
            os.getcwd(),
            *(text for text in named if text.startswith("/")),
        }
        found = set()
        for place in places:
            for variant in (os.path.normpath(place), os.path.realpath(place)):
                if variant != "/" and not _system(variant):
                    found.add(variant.rstrip("/"))
        ordered = sorted(found, key=len, reverse=True)  # the longest (most precise) first
        self._paths = re.compile(
            r"(?<![\w.~-])(?:" + "|".join(map(re.escape, ordered)) + r")(?![\w.~-])"
        )

    def __call__(self, line: str) -> str | None:
        """The line to show, or None to leave it out."""
        if _WHERE_LINE.match(line):
            return None
        return self._paths.sub(HIDDEN, line)


def _system(path: str) -> bool:
    return any(path == root or path.startswith(root + "/") for root in _SYSTEM)


def egress_policy(settings: Settings) -> EgressPolicy:
    """The egress policy the settings give builds."""
    return EgressPolicy.of(settings.build_egress_hosts, settings.build_egress_networks)


def _run_boxed(
    command: list[str],
    *,
    log: Log,
    shown: Callable[[str], str | None],
    cancel: threading.Event | None,
    timeout: float,
) -> tuple[int, list[str]]:
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={},  # bubblewrap needs none; the command's own is set inside (--setenv)
        text=True,
        bufsize=1,
        start_new_session=True,
        errors="replace",
    )
    lines: list[str] = []
    assert process.stdout is not None

    def kill() -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    with stop_on(kill, cancel=cancel, timeout=timeout), process:
        for raw in process.stdout:
            line = raw.rstrip("\n")
            lines.append(line)
            visible = shown(line)
            if visible is not None:
                log(f"       {visible}")
        code = process.wait()
    return code, lines
