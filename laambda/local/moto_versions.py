"""Make moto number Lambda versions as AWS does: never a number twice for one function.

moto 5 numbers a new version len(versions) + 1, so once an older version is deleted
(pruning) the next publish repeats the newest number, and an alias on that number then
resolves to the older of the two. AWS keeps counting instead. And a restarted local cloud
publishes the live release's versions again under their recorded numbers (continue_from).
moto's server runs inside the process that starts it (ThreadedMotoServer: `laambda up`'s
local cloud, the tests), so patching its model there fixes the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.awslambda.models import LambdaStorage

_original = LambdaStorage.publish_version
_HIGHEST = "laambda_highest_version"
_floors: dict[str, int] = {}  # function name -> numbers already used before a restart


def _publish_version(self: Any, name_or_arn: str, description: str = "") -> Any:
    function = self.get_function_by_name_or_arn_forbid_qualifier(name_or_arn)
    before = len(self._functions[function.function_name]["versions"])
    published = _original(self, name_or_arn, description)
    if published is None:
        return None
    entry = self._functions[published.function_name]
    versions = entry["versions"]
    if len(versions) == before:  # nothing changed: moto handed back the newest version
        return published
    others = [int(v.version) for v in versions if v is not published]
    highest = max([*others, entry.get(_HIGHEST, 0), _floors.get(published.function_name, 0)])
    if int(published.version) <= highest:
        for version in versions[:-1]:  # the ARN the duplicate took back to its owner
            if version.function_arn == published.function_arn:
                self._arns[version.function_arn] = version
        published.set_version(highest + 1)
        self._arns[published.function_arn] = published
    entry[_HIGHEST] = int(published.version)
    return published


def install() -> None:
    LambdaStorage.publish_version = _publish_version  # type: ignore[method-assign]


def continue_from(numbers: Mapping[str, int]) -> None:
    """Make the next version published of each named function number `numbers[name] + 1`
    (at least), and forget earlier wishes: a local cloud started again publishes a release's
    versions under the numbers the database recorded for them, so no older release's number
    ever names a version of other code or configuration."""
    _floors.clear()
    _floors.update(numbers)
