"""Make moto number Lambda versions as AWS does: never a number twice for one function.

moto 5 numbers a new version len(versions) + 1, so once an older version is deleted
(pruning) the next publish repeats the newest number, and an alias on that number then
resolves to the older of the two. AWS keeps counting instead. moto's server runs inside
the process that starts it (ThreadedMotoServer: `laambda up`'s local cloud, the tests), so
patching its model there fixes the server.
"""

from __future__ import annotations

from typing import Any

from moto.awslambda.models import LambdaStorage

_original = LambdaStorage.publish_version
_HIGHEST = "laambda_highest_version"


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
    highest = max([*others, entry.get(_HIGHEST, 0)])
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
