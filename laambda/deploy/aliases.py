"""The alias `live`: what every event source, schedule and URL of a function invokes.

Moving it is how a release becomes live and how a rollback takes effect (DESIGN.md), so
these are the only calls that change what runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from laambda.deploy.calls import LambdaCalls, error_code, is_missing
from laambda.deploy.pool import run_all
from laambda.errors import DeployFailed

if TYPE_CHECKING:
    from laambda.deploy.functions import Prepared

ALIAS = "live"
# an update without RoutingConfig keeps the alias's weights: moving `live` fully clears them
NO_ROUTING: Any = {"AdditionalVersionWeights": {}}


def live_version(calls: LambdaCalls, name: str) -> str | None:
    """The version `live` points at, or None when the function has no such alias."""
    try:
        alias = calls.call(calls.client.get_alias, FunctionName=name, Name=ALIAS)
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise
    return alias["FunctionVersion"]


def live_config(calls: LambdaCalls, name: str) -> Mapping[str, Any] | None:
    """The configuration of the version `live` points at, None without the alias.

    GetFunction of `live` rather than GetAlias: GetFunction has a quota of its own (100 a
    second), so reading where `live` points costs nothing of the shared 15 a second.
    """
    try:
        found = calls.call(calls.client.get_function, FunctionName=name, Qualifier=ALIAS)
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise
    config: Mapping[str, Any] = found["Configuration"]
    if not str(config.get("Version", "")).isdigit():
        # releases record version numbers: ask the alias if the answer did not carry one
        version = live_version(calls, name)
        if version is None:
            return None
        config = {**config, "Version": version}
    return config


def point(calls: LambdaCalls, name: str, version: str, *, exists: bool) -> None:
    """Point `live` at a version, creating the alias on a function's first release."""
    if exists:
        _update(calls, name, version)
        return
    try:
        calls.call_without_conflict_retry(
            calls.client.create_alias, FunctionName=name, Name=ALIAS, FunctionVersion=version
        )
    except ClientError as exc:
        # a retried task may find the alias made by the attempt that died
        if error_code(exc) != "ResourceConflictException":
            raise
        _update(calls, name, version)


def settle(calls: LambdaCalls, name: str, version: str) -> None:
    """Point an existing `live` fully at `version`: no weighted routing left (a canary's end)."""
    _update(calls, name, version)


def _update(calls: LambdaCalls, name: str, version: str) -> None:
    calls.call(
        calls.client.update_alias,
        FunctionName=name,
        Name=ALIAS,
        FunctionVersion=version,
        RoutingConfig=NO_ROUTING,
    )


def split(calls: LambdaCalls, name: str, stable: str, canary: str, weight: float) -> None:
    """`live` stays on `stable` and sends the share `weight` (0 < weight < 1) of invocations
    to `canary` (Lambda's weighted alias routing, "Lambda function aliases", AWS Lambda
    Developer Guide: AdditionalVersionWeights)."""
    calls.call(
        calls.client.update_alias,
        FunctionName=name,
        Name=ALIAS,
        FunctionVersion=stable,
        RoutingConfig={"AdditionalVersionWeights": {canary: round(weight, 2)}},
    )


def restore(calls: LambdaCalls, name: str, version: str | None) -> None:
    """Put `live` back where it was: on the old version, or gone if there was none."""
    if version is not None:
        _update(calls, name, version)
        return
    try:
        calls.call(calls.client.delete_alias, FunctionName=name, Name=ALIAS)
    except ClientError as exc:
        if not is_missing(exc):
            raise


def move_all(
    calls: LambdaCalls,
    pool: ThreadPoolExecutor,
    ready: list[Prepared],
    *,
    log: Callable[[str], None],
    canary: float | None = None,
) -> int:
    """Move `live` of every function to its prepared version; how many moved. With `canary`
    (a weight, 0..1), a function that was live only sends that share of traffic to its new
    version (`split`); one new in this release goes fully, as it has nothing to share with.

    An `unread` item (a rollback's verified target) has where `live` points read just before
    its move (GetFunction, its own quota), so the reads overlap the moves, which the shared
    quota paces; one already on its version is not moved.

    If any move fails, the moved ones are moved back (to where each was read to point)
    before the failure is raised, so a release is live everywhere or nowhere.
    """
    to_move = [item for item in ready if item.unread or item.live != item.version]
    moved: list[Prepared] = []
    lock = threading.Lock()

    def move(item: Prepared) -> None:
        if item.unread:
            running = live_config(calls, item.name)
            item = replace(item, live=str(running["Version"]) if running else None, unread=False)
            if item.live == item.version:
                return
        if canary is not None and item.live is not None:
            split(calls, item.name, item.live, item.version, canary)
        else:
            point(calls, item.name, item.version, exists=item.live is not None)
        with lock:
            moved.append(item)

    try:
        run_all(pool, move, to_move, context=lambda item: item.name)
    except Exception as failure:
        reason = failure.message if isinstance(failure, DeployFailed) else str(failure)
        log(f"Moving live failed ({reason}); moving {len(moved)} aliases back")

        def back(item: Prepared) -> None:
            restore(calls, item.name, item.live)

        try:
            run_all(pool, back, moved, context=lambda item: item.name)
        except DeployFailed as again:
            raise DeployFailed(f"{reason}; moving back failed too: {again.message}") from None
        raise
    shared = [item for item in moved if canary is not None and item.live is not None]
    if shared:
        log(f"live sends {canary:.0%} of traffic to the new versions of {len(shared)} functions")
    if len(moved) > len(shared):
        log(f"live moved on {len(moved) - len(shared)} functions")
    return len(moved)
