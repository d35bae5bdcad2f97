"""The app a repository deploys to, read from its `laambda` git remote (as Heroku's CLI does)."""

from __future__ import annotations

import re
import subprocess

REMOTE = "laambda"
_URL = re.compile(r"^(?:ssh://)?[^@/]+@[^:/]+(?::\d+)?[:/]/?(?P<app>[a-z0-9-]+?)(?:\.git)?/?$")


def app_from_url(url: str) -> str | None:
    """`ssh://git@host:2222/APP`, `git@host:APP` and either with `.git` give APP."""
    match = _URL.match(url.strip())
    return match.group("app") if match else None


# ssh://git@host:2222/pipelines/NAME(.git) or git@host:pipelines/NAME(.git)
_PIPELINE_URL = re.compile(
    r"(?:^ssh://[^/]+/|^[^/:]+:)/?pipelines/(?P<name>[a-z0-9-]+?)(?:\.git)?/?$"
)


def pipeline_from_url(url: str) -> str | None:
    """`ssh://git@host:2222/pipelines/NAME` and `git@host:pipelines/NAME` give NAME."""
    match = _PIPELINE_URL.match(url.strip())
    return match.group("name") if match else None


def remote_url(cwd: str | None = None) -> str | None:
    """The `laambda` remote's URL of the repository at `cwd` (default: the current folder)."""
    done = subprocess.run(
        ["git", "remote", "get-url", REMOTE], capture_output=True, text=True, check=False, cwd=cwd
    )
    return done.stdout.strip() if done.returncode == 0 else None


def add_remote(url: str) -> str | None:
    """Add or re-point the remote; git's own complaint (e.g. not a repository) if it refused."""
    verb = "add" if remote_url() is None else "set-url"
    done = subprocess.run(
        ["git", "remote", verb, REMOTE, url], capture_output=True, text=True, check=False
    )
    return done.stderr.strip() or "git failed" if done.returncode != 0 else None
