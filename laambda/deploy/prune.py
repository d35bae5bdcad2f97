"""Deleting Lambda versions no retained release refers to.

Every deploy publishes versions, and the account's code storage (75 GB by default) counts
each one; pruning keeps it from filling up while rollbacks to retained releases stay
alias moves.

Pruning is done in small steps (a function's reads, then one deletion at a time) and stops
between two when `stop()` says so: another operation is waiting for the app (worker/rollout.py).
What it left is pruned by the next pruning, which deletes every version no retained
release refers to, not only the newest release's leftovers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator

from botocore.exceptions import ClientError

from laambda.deploy.calls import LambdaCalls, error_code, is_missing


def never() -> bool:
    """The `stop` of a pruning that runs to its end."""
    return False


def versions(calls: LambdaCalls, name: str) -> Iterator[str]:
    """Every published version of a function ($LATEST is not one), page by page."""
    for item in calls.items(calls.client.list_versions_by_function, "Versions", FunctionName=name):
        if item["Version"] != "$LATEST":
            yield str(item["Version"])


def aliased(calls: LambdaCalls, name: str) -> set[str]:
    """Versions some alias routes to (`live`, and any a user made): never deleted."""
    found: set[str] = set()
    for alias in calls.items(calls.client.list_aliases, "Aliases", FunctionName=name):
        found.add(alias["FunctionVersion"])
        weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
        found.update(weights)
    return found


def prune_versions(
    calls: LambdaCalls,
    name: str,
    keep: Collection[str],
    *,
    stop: Callable[[], bool] = never,
) -> list[str]:
    """Delete the versions of `name` outside `keep`, sparing $LATEST and aliased ones;
    the versions deleted. `stop()` is asked before each read and each deletion:
    True ends pruning there (what is left stays for the next pruning).

    All pages are read before anything is deleted, so deleting cannot shift a page.
    """
    if stop():
        return []
    try:
        spared = set(keep) | aliased(calls, name)
        if stop():
            return []
        doomed = [version for version in versions(calls, name) if version not in spared]
    except ClientError as exc:
        if is_missing(exc):  # the function is gone, and its versions with it
            return []
        raise
    deleted = []
    for version in doomed:
        if stop():
            break
        try:
            calls.call_without_conflict_retry(
                calls.client.delete_function, FunctionName=name, Qualifier=version
            )
        except ClientError as exc:
            # gone already, or an alias moved onto it meanwhile: either way it is not ours to delete
            if is_missing(exc) or error_code(exc) == "ResourceConflictException":
                continue
            raise
        deleted.append(version)
    return deleted
