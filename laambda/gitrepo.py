"""The server's bare git repositories, read with git's plumbing: the one place the receiver
and the services ask git about a commit.

I/O only: each function runs one `git` process in the repository and answers plainly; a
missing repository, a missing `git` or a git that outlives GIT_TIMEOUT is an answer too
(None or False), never an exception.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

GIT_TIMEOUT = 60.0  # seconds: `git archive` or `git log` of a large repository


def git(
    repo: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = GIT_TIMEOUT,
) -> bytes | None:
    """The standard output of `git --git-dir REPO ARGS...`, or None when it failed (a nonzero
    exit, no such repository, no git, over `timeout` seconds). `env`: git's whole
    environment (the quarantine of a push in its pre-receive hook), else this process's."""
    try:
        done = subprocess.run(
            ["git", "--git-dir", str(repo), *args],
            env=env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def holds(repo: Path, commit: str, *, env: Mapping[str, str] | None = None) -> bool:
    """Whether the repository `repo` has the commit `commit` (a full or short object name)."""
    return git(repo, "cat-file", "-e", f"{commit}^{{commit}}", env=env) is not None
