"""Finding an app's functions and deleting them, for Procfile entries that went away.

Names alone cannot say whose a function is: app `thumbs`'s prefix `thumbs-` also matches
app `thumbs-api`'s functions. Every function laambda creates carries its app in a tag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from laambda.deploy.calls import LambdaCalls, error_code, error_message, is_missing
from laambda.deploy.functions import APP_TAG
from laambda.errors import AwsRefused


def app_functions(
    calls: LambdaCalls, app: str, *, candidates: Callable[[str], bool] | None = None
) -> set[str]:
    """The app's functions in AWS: named `<app>-…` and tagged as the app's.

    `candidates` narrows the names worth a ListTags call each.
    """
    prefix = f"{app}-"
    found = set()
    for name, arn in _functions(calls):
        if not name.startswith(prefix) or (candidates and not candidates(name)):
            continue
        tags = calls.call(calls.client.list_tags, Resource=arn)
        if tags.get("Tags", {}).get(APP_TAG) == app:
            found.add(name)
    return found


def owned(calls: LambdaCalls, app: str, names: list[str]) -> list[str]:
    """Of `names`, those that exist and carry the app's tag: safe to delete for it."""
    found = []
    for name in names:
        try:
            answer = calls.call(calls.client.get_function, FunctionName=name)
        except ClientError as exc:
            if is_missing(exc):
                continue
            raise
        if answer.get("Tags", {}).get(APP_TAG) == app:
            found.append(name)
    return found


def delete_function(calls: LambdaCalls, name: str) -> str | None:
    """Delete a function with every version and alias; AWS's message if it refused."""
    try:
        calls.call_without_conflict_retry(calls.client.delete_function, FunctionName=name)
    except ClientError as exc:
        if not is_missing(exc):
            return error_message(exc)
    return None


def delete_log_group(logs: Any, function_name: str) -> bool:
    """Delete the function's CloudWatch Logs group, `/aws/lambda/<function>`, which Lambda
    keeps after the function is gone (a new function of that name would show its lines);
    False when there was none; AwsRefused with AWS's words when it refuses."""
    try:
        logs.delete_log_group(logGroupName=f"/aws/lambda/{function_name}")
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return False
        raise AwsRefused(
            f"{function_name}: log group: AWS refused: {error_message(exc)}", 502
        ) from None
    return True


def delete_all(
    calls: LambdaCalls, pool: ThreadPoolExecutor, names: list[str], *, log: Callable[[str], None]
) -> tuple[list[str], list[str]]:
    """Delete functions in parallel: (deleted, refused). Refusals are logged, not raised,
    because callers run this once the release is decided."""
    removed: list[str] = []
    refused: list[str] = []

    def one(name: str) -> None:
        refusal = delete_function(calls, name)
        if refusal:
            log(f"{name}: could not be deleted: {refusal}")
            refused.append(name)
        else:
            log(f"{name}: deleted")
            removed.append(name)

    for future in [pool.submit(one, name) for name in names]:
        future.result()
    return sorted(removed), sorted(refused)


def _functions(calls: LambdaCalls) -> Iterator[tuple[str, str]]:
    """(name, ARN) of every function in the region, page by page."""
    for function_name in calls.items(calls.client.list_functions, "Functions"):
        yield function_name["FunctionName"], function_name["FunctionArn"]
