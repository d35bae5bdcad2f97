"""Deleting Lambda versions no retained release refers to.

Every deploy publishes versions, and the account's code storage (75 GB by default) counts
each one; pruning keeps it from filling up while rollbacks to retained releases stay
alias moves.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from botocore.exceptions import ClientError

from laambda.deploy.calls import LambdaCalls, error_code, is_missing

PAGE = 50  # ListVersionsByFunction and ListAliases return at most 50 a time


def versions(calls: LambdaCalls, name: str) -> Iterator[str]:
    """Every published version of a function, page by page (Marker / NextMarker)."""
    marker: str | None = None
    while True:
        if marker:
            page = calls.call(
                calls.client.list_versions_by_function,
                FunctionName=name,
                MaxItems=PAGE,
                Marker=marker,
            )
        else:
            page = calls.call(
                calls.client.list_versions_by_function, FunctionName=name, MaxItems=PAGE
            )
        for item in page.get("Versions", []):
            if item["Version"] != "$LATEST":
                yield item["Version"]
        marker = page.get("NextMarker")
        if not marker:
            return


def aliased(calls: LambdaCalls, name: str) -> set[str]:
    """Versions some alias routes to (`live`, and any a user made): never deleted."""
    found: set[str] = set()
    marker: str | None = None
    while True:
        if marker:
            page = calls.call(
                calls.client.list_aliases, FunctionName=name, MaxItems=PAGE, Marker=marker
            )
        else:
            page = calls.call(calls.client.list_aliases, FunctionName=name, MaxItems=PAGE)
        for alias in page.get("Aliases", []):
            found.add(alias["FunctionVersion"])
            weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
            found.update(weights)
        marker = page.get("NextMarker")
        if not marker:
            return found


def prune_versions(calls: LambdaCalls, name: str, keep: Collection[str]) -> list[str]:
    """Delete the versions of `name` outside `keep`, sparing $LATEST and aliased ones.

    All pages are read before anything is deleted, so deleting cannot shift a page.
    """
    try:
        spared = set(keep) | aliased(calls, name)
        doomed = [version for version in versions(calls, name) if version not in spared]
    except ClientError as exc:
        if is_missing(exc):  # the function is gone, and its versions with it
            return []
        raise
    deleted = []
    for version in doomed:
        try:
            calls.create(calls.client.delete_function, FunctionName=name, Qualifier=version)
        except ClientError as exc:
            # gone already, or an alias moved onto it meanwhile: either way it is not ours to delete
            if is_missing(exc) or error_code(exc) == "ResourceConflictException":
                continue
            raise
        deleted.append(version)
    return deleted
