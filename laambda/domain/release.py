"""Release rules (DESIGN.md, Heroku semantics): descriptions written from what changed, and
which release a rollback may return to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from laambda.domain.resources import Resources
from laambda.domain.status import ReleaseStatus


@dataclass(frozen=True)
class ReleaseSummary:
    version: int
    status: str
    has_build: bool
    error: str | None = None


class RollbackProblem(ValueError):
    """Why a rollback target was refused; the message is for people."""


@dataclass(frozen=True)
class Runs:
    """Everything that decides what Lambda runs for a release: the artifact (hex sha256),
    how it was built, the Procfile, the config vars and the function settings."""

    sha256: str | None
    runtime: str | None
    architecture: str | None
    procfile: Mapping[str, Any]
    config: Mapping[str, str]
    settings: Mapping[str, Any]


def nothing_changed(live: Runs, pushed: Runs) -> bool:
    """Whether a deploy of `pushed` would leave Lambda exactly as the live release has it
    (an empty commit, or the same commit pushed again): then no release is made."""
    return live.sha256 is not None and live == pushed


def unchanged_message(version: int) -> str:
    return f"nothing changed; v{version} is live"


def deploy_description(commit: str | None, label: str | None = None) -> str:
    """'Deploy 1a2b3c4' for a pushed commit or a verified upload; 'Deploy 1111111 (upload,
    unverified)' for an upload whose commit `label` the server could not verify (it holds no
    such commit, or not with the files uploaded: laambda/services/upload_commit.py), so the
    release list never vouches for code it cannot tie to a commit; 'Deploy' with neither."""
    if commit:
        return f"Deploy {commit[:7]}"
    return f"Deploy {label[:7]} (upload, unverified)" if label else "Deploy"


def config_description(set_keys: Sequence[str], unset_keys: Sequence[str]) -> str:
    """'Set BUCKET, TIMEOUT', 'Unset DEBUG', or 'Set A; unset B' (names only, never values)."""
    parts = []
    if set_keys:
        parts.append("Set " + ", ".join(set_keys))
    if unset_keys:
        parts.append(("unset " if parts else "Unset ") + ", ".join(unset_keys))
    return "; ".join(parts)


def config_unchanged(unchanged: Sequence[str], missing: Sequence[str]) -> str:
    """Why a config change made no release: 'nothing changed: NOPE is not set', 'nothing
    changed: A, B are not set', 'nothing changed: the config already has these values',
    'nothing changed: A already has the value given; NOPE is not set' (names only, never
    values). Unsetting a key that is not set is no error, as `heroku config:unset` exits 0."""
    if not missing:
        return "nothing changed: the config already has these values"
    reasons = []
    if unchanged:
        verb = "has" if len(unchanged) == 1 else "have"
        reasons.append(f"{', '.join(unchanged)} already {verb} the value given")
    verb = "is" if len(missing) == 1 else "are"
    reasons.append(f"{', '.join(missing)} {verb} not set")
    return "nothing changed: " + "; ".join(reasons)


def resources_description(entry: str, old: Resources, new: Resources) -> str:
    """'Set memory of create to 2048 MB', 'Set memory of create to 2048 MB and timeout to 30 s'."""
    changes = []
    if new.memory != old.memory:
        changes.append(f"memory{{of}} to {new.memory} MB")
    if new.timeout != old.timeout:
        changes.append(f"timeout{{of}} to {new.timeout} s")
    first = changes[0].format(of=f" of {entry}")
    rest = [change.format(of="") for change in changes[1:]]
    return "Set " + " and ".join([first, *rest])


def rollback_description(version: int) -> str:
    return f"Rollback to v{version}"


def current_version(releases: Sequence[ReleaseSummary]) -> int | None:
    """The release that runs: the newest one that did not fail."""
    live = [r.version for r in releases if r.status in ReleaseStatus.CURRENT]
    return max(live) if live else None


def rollback_target(releases: Sequence[ReleaseSummary], requested: int | None) -> int:
    """The version a rollback returns to; raises RollbackProblem saying why not.

    With no version asked for, it is the newest release before the current one that
    succeeded and has a build: failed releases are skipped, as Heroku does.
    """
    by_version: Mapping[int, ReleaseSummary] = {r.version: r for r in releases}
    current = current_version(releases)
    if requested is None:
        candidates = [
            r.version
            for r in releases
            if r.status == ReleaseStatus.SUCCEEDED
            and r.has_build
            and (current is None or r.version < current)
        ]
        if not candidates:
            raise RollbackProblem("there is no earlier deployed release to roll back to")
        return max(candidates)
    target = by_version.get(requested)
    if target is None:
        raise RollbackProblem(f"v{requested} does not exist")
    if target.status == ReleaseStatus.FAILED:
        reason = f": {target.error}" if target.error else ""
        raise RollbackProblem(
            f"v{requested} failed to deploy{reason}; pick a release that succeeded"
        )
    if target.status != ReleaseStatus.SUCCEEDED:
        raise RollbackProblem(
            f"v{requested} is {target.status}, not deployed; pick a release that succeeded"
        )
    if not target.has_build:
        raise RollbackProblem(f"v{requested} has no build (it was made before the first deploy)")
    if requested == current:
        raise RollbackProblem(f"v{requested} is already the current release")
    return requested
