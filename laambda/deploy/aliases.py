"""The alias `live`: what every event source, schedule and URL of a function invokes.

Moving it is how a release becomes live and how a rollback takes effect (DESIGN.md), so
these are the only calls that change what runs.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from laambda.deploy.calls import LambdaCalls, error_code, is_missing

ALIAS = "live"


def live_version(calls: LambdaCalls, name: str) -> str | None:
    """The version `live` points at, or None when the function has no such alias."""
    try:
        alias = calls.call(calls.client.get_alias, FunctionName=name, Name=ALIAS)
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise
    return alias["FunctionVersion"]


def point(calls: LambdaCalls, name: str, version: str, *, exists: bool) -> None:
    """Point `live` at a version, creating the alias on a function's first release."""
    if exists:
        calls.call(
            calls.client.update_alias, FunctionName=name, Name=ALIAS, FunctionVersion=version
        )
        return
    try:
        calls.create(
            calls.client.create_alias, FunctionName=name, Name=ALIAS, FunctionVersion=version
        )
    except ClientError as exc:
        # a retried task may find the alias made by the attempt that died
        if error_code(exc) != "ResourceConflictException":
            raise
        calls.call(
            calls.client.update_alias, FunctionName=name, Name=ALIAS, FunctionVersion=version
        )


def restore(calls: LambdaCalls, name: str, version: str | None) -> None:
    """Put `live` back where it was: on the old version, or gone if there was none."""
    if version is not None:
        calls.call(
            calls.client.update_alias, FunctionName=name, Name=ALIAS, FunctionVersion=version
        )
        return
    try:
        calls.call(calls.client.delete_alias, FunctionName=name, Name=ALIAS)
    except ClientError as exc:
        if not is_missing(exc):
            raise
