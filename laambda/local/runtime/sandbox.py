"""Functions run under bubblewrap when the machine has it: the whole file system read-only
(as Lambda's is, but /tmp), a /tmp of their own, their own process ids (no reading another
process's environment through /proc), and the platform's secrets out of sight: the data
directory (secret key, database, admin token) and the CLI's credentials are empty folders,
but for the function's own code and runtime client, bound back read-only.

Without bubblewrap (or where it cannot make namespaces), functions run as plain processes.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path


@functools.cache
def available() -> str | None:
    """bwrap's path when it can sandbox here (user namespaces allowed), else None."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    try:
        tried = subprocess.run(
            [bwrap, "--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bwrap if tried.returncode == 0 else None


def wrap(command: list[str], *, hidden: Sequence[Path], visible: Sequence[Path]) -> list[str]:
    """`command` inside a sandbox hiding `hidden` but `visible` (read-only); unchanged when
    bubblewrap cannot run here."""
    bwrap = available()
    if bwrap is None:
        return command
    # no --die-with-parent: it is tied to the thread that starts the process, and a request's
    # thread ends long before the warm environment it started; its owner kills its group
    args = [bwrap, "--unshare-pid", "--ro-bind", "/", "/"]
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in hidden:
        if path.exists():
            args += ["--tmpfs", str(path.resolve())]
    for path in visible:
        args += ["--ro-bind", str(path.resolve()), str(path.resolve())]
    return [*args, "--", *command]
