"""Pipeline rules that need no I/O: which stage an app's name suggests, which stage is
downstream of another, and whether an upstream build can run, as it is, in another app.

Promotion builds nothing (Heroku's "build once, deploy many"): the downstream app gets the
upstream's artifact byte for byte, so everything that a build would have decided for the
downstream app (its pinned runtime and architecture, its function names) is checked here
instead.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from laambda.domain.function import MAX_FUNCTION_NAME, architecture_or_default, function_name
from laambda.domain.pipeline import Stage

# Heroku's CLI guesses a stage from the app name's suffix the same way (`pipelines:add`)
_SUFFIXES = (
    ("-development", Stage.DEVELOPMENT),
    ("-dev", Stage.DEVELOPMENT),
    ("-staging", Stage.STAGING),
    ("-stage", Stage.STAGING),
    ("-production", Stage.PRODUCTION),
    ("-prod", Stage.PRODUCTION),
)


def infer_stage(app_name: str) -> Stage | None:
    """The stage an app's name suggests ("shop-staging" -> staging), None when it says none."""
    for suffix, stage in _SUFFIXES:
        if app_name.endswith(suffix):
            return stage
    return None


def next_stage(upstream: Stage, populated: Iterable[Stage]) -> Stage | None:
    """The first stage above `upstream` that holds apps, None when `upstream` is the top."""
    above = sorted((s for s in set(populated) if s.rank > upstream.rank), key=lambda s: s.rank)
    return above[0] if above else None


def previous_stage(downstream: Stage, populated: Iterable[Stage]) -> Stage | None:
    """The nearest stage below `downstream` that holds apps (review apps not counted)."""
    below = [s for s in set(populated) if Stage.REVIEW.rank < s.rank < downstream.rank]
    return max(below, key=lambda s: s.rank) if below else None


@dataclass(frozen=True)
class Artifact:
    """What an upstream build made: the parts a promotion must match in the downstream app."""

    runtime: str
    architecture: str
    entries: Collection[str]  # the Procfile's entry names


def promotion_problem(
    target: str, artifact: Artifact, *, runtime: str | None, architecture: str | None
) -> str | None:
    """Why `artifact` cannot run unchanged in the app `target` whose pinned runtime and
    architecture are given (None: not pinned; an unpinned architecture is x86_64, as its
    builds are), or None when it can. Function names `<target>-<entry>` must fit Lambda's
    64 characters, as a build of the downstream app would check (domain/procfile.py)."""
    if runtime is not None and runtime != artifact.runtime:
        return (
            f"'{target}' is pinned to {runtime} and the build runs {artifact.runtime}: "
            "promotion deploys the same artifact, so the runtimes must match"
        )
    wanted = architecture_or_default(architecture)
    if wanted != artifact.architecture:
        return (
            f"'{target}' runs on {wanted} and the build was made for {artifact.architecture}: "
            "promotion deploys the same artifact, so the architectures must match"
        )
    for entry in sorted(artifact.entries):
        name = function_name(target, entry)
        if len(name) > MAX_FUNCTION_NAME:
            return (
                f"the function name '{name}' is {len(name)} characters long; Lambda allows "
                f"{MAX_FUNCTION_NAME}: shorten the Procfile entry '{entry}' (and push it "
                "upstream) or promote to an app with a shorter name"
            )
    return None
