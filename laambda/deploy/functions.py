"""One function's half of a deploy: make $LATEST match the spec, then publish a version.

Nothing here moves `live`, so a failure at any point leaves the running release alone;
the Deployer moves every alias only once every function has its version (two phases).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from laambda.deploy import aliases
from laambda.deploy.calls import LambdaCalls, is_missing
from laambda.domain.function import architecture_or_default, function_name
from laambda.errors import DeployFailed

if TYPE_CHECKING:
    from mypy_boto3_lambda.type_defs import FunctionConfigurationTypeDef

APP_TAG = "laambda:app"


@dataclass(frozen=True)
class FunctionSpec:
    """One Procfile entry as Lambda runs it; the function is named `<app>-<name>`."""

    name: str
    handler: str
    runtime: str
    architecture: str
    role: str
    memory: int
    timeout: int
    environment: dict[str, str]


@dataclass(frozen=True)
class Code:
    """The app's artifact in S3: one object shared by every function of the app."""

    bucket: str
    key: str
    sha256: str

    @property
    def lambda_sha(self) -> str:
        """Lambda reports CodeSha256 as the base64 of the digest, not the hex."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()


@dataclass(frozen=True)
class Prepared:
    """A function ready to go live: the version to point `live` at, and where it points now.

    `unread`: where `live` points is not known yet (`live` is None until then): a rollback's
    verified target, whose `live` the move reads just before moving it (aliases.move_all), so
    that those reads overlap the moves instead of preceding them all.
    """

    name: str
    version: str
    live: str | None
    code_updated: bool = False
    config_updated: bool = False
    unread: bool = False

    def summary(self) -> str:
        """' (created)', ' (code updated, configuration updated)', or '' for the log."""
        changes = [
            label
            for label, changed in (
                ("created", self.live is None),
                ("code updated", self.code_updated),
                ("configuration updated", self.config_updated),
            )
            if changed
        ]
        return f" ({', '.join(changes)})" if changes else ""


def prepare(
    calls: LambdaCalls, app: str, spec: FunctionSpec, code: Code, *, description: str
) -> Prepared:
    """Create or update the function and publish a version; `live` is not touched.

    `live` None says the function has no `live` alias yet (created now, or by an attempt
    that died).
    """
    name = function_name(app, spec.name)
    current = _current(calls, name, app)
    if current is None:
        return _create(calls, app, name, spec, code, description)
    running = aliases.live_config(calls, name)
    live = running["Version"] if running else None
    if running and _holds(running, spec, code):
        # the release asks for what runs already: no update, no new version
        return Prepared(name=name, version=str(running["Version"]), live=live)
    code_updated = config_updated = False
    if differences(current, spec):
        updated = calls.call(
            calls.client.update_function_configuration,
            FunctionName=name,
            Role=spec.role,
            Handler=spec.handler,
            Runtime=spec.runtime,  # type: ignore[arg-type]
            MemorySize=spec.memory,
            Timeout=spec.timeout,
            Environment={"Variables": spec.environment},
        )
        if not _settled(updated):
            calls.wait("function_updated_v2", name)
        config_updated = True
    if current["CodeSha256"] != code.lambda_sha or _architecture(current) != spec.architecture:
        # the configuration first, then the code with Publish: a code change costs two
        # quota-limited calls a function (this and the alias move), not three
        updated = calls.call(
            calls.client.update_function_code,
            FunctionName=name,
            S3Bucket=code.bucket,
            S3Key=code.key,
            Architectures=[spec.architecture],  # type: ignore[list-item]
            Publish=True,
        )
        code_updated = True
        if not _settled(updated):
            calls.wait("function_updated_v2", name)
        version = _published(calls, name, updated, spec, code, description)
    else:
        version = _publish(calls, name, spec, code, description)
    return Prepared(
        name=name,
        version=version,
        live=live,
        code_updated=code_updated,
        config_updated=config_updated,
    )


def _create(
    calls: LambdaCalls, app: str, name: str, spec: FunctionSpec, code: Code, description: str
) -> Prepared:
    """A new function, tagged as the app's, its first version published as it is created."""
    created = calls.call_without_conflict_retry(
        calls.client.create_function,
        FunctionName=name,
        Role=spec.role,
        Handler=spec.handler,
        Runtime=spec.runtime,  # type: ignore[arg-type]
        Architectures=[spec.architecture],  # type: ignore[list-item]
        MemorySize=spec.memory,
        Timeout=spec.timeout,
        Environment={"Variables": spec.environment},
        Code={"S3Bucket": code.bucket, "S3Key": code.key},
        Description=description,
        Tags={APP_TAG: app},
        Publish=True,
    )
    if not _settled(created):
        calls.wait("function_active_v2", name)
    if created["Version"] == "$LATEST":
        version = _publish(calls, name, spec, code, description)
    else:
        _check(name, created, spec, code)
        version = created["Version"]
    return Prepared(name=name, version=version, live=None)


def _publish(
    calls: LambdaCalls, name: str, spec: FunctionSpec, code: Code, description: str
) -> str:
    published = calls.call(
        calls.client.publish_version,
        FunctionName=name,
        CodeSha256=code.lambda_sha,
        Description=description,
    )
    _check(name, published, spec, code)
    return published["Version"]


def _published(
    calls: LambdaCalls,
    name: str,
    updated: Mapping[str, Any],
    spec: FunctionSpec,
    code: Code,
    description: str,
) -> str:
    """The version UpdateFunctionCode with Publish made, checked like any published one;
    published separately when the answer names none (Lambda answers with the version it
    published, "UpdateFunctionCode", AWS Lambda API Reference: Publish)."""
    version = str(updated.get("Version", ""))
    if not version.isdigit():
        return _publish(calls, name, spec, code, description)
    _check(name, updated, spec, code)
    return version


def _check(name: str, version: Mapping[str, Any], spec: FunctionSpec, code: Code) -> None:
    """Lambda hands back the newest version when nothing changed since it: make sure that
    version really is this spec, or the release would record someone else's code."""
    if not _holds(version, spec, code):
        raise DeployFailed(
            f"{name}: Lambda answered with version {version['Version']}, which does not hold "
            "this release's code and settings"
        )


def pin(
    calls: LambdaCalls, name: str, version: str, spec: FunctionSpec, code: Code
) -> Prepared | str:
    """A recorded version to go live again (rollback), once it is checked to still hold the
    release's code (CodeSha256) and configuration (handler, runtime, memory, timeout,
    environment, architecture); otherwise why not, for the log: the
    version was deleted (pruned, the function deleted, the local cloud restarted) or holds
    something else (a function deleted and made again numbers its versions from 1 anew).
    Either way the caller deploys the artifact again.

    One GetFunction (its own quota of 100 a second). Where `live` points now is not read
    here (the Prepared is `unread`): the move reads it (aliases.move_all), after every target
    is verified and just before moving that function's alias.
    """
    try:
        found = calls.call(calls.client.get_function, FunctionName=name, Qualifier=version)
    except ClientError as exc:
        if is_missing(exc):
            return "it is gone"
        raise
    config = found["Configuration"]
    if config.get("CodeSha256") != code.lambda_sha:
        return f"it runs other code (CodeSha256 {config.get('CodeSha256')})"
    # the role is the app's, not the release's (no release records it): a version made
    # under another role still runs the release's code and settings
    changed = [name for name in differences(config, spec) if name != "Role"]
    if _architecture(config) != spec.architecture:
        changed.append("Architectures")
    if changed:
        return f"its {', '.join(changed)} differ from the release's"
    return Prepared(name=name, version=version, live=None, unread=True)


def never_live(calls: LambdaCalls, name: str, app: str) -> bool:
    """True for this app's function that exists without a `live` alias: no release uses it."""
    try:
        if _current(calls, name, app) is None:
            return False
    except DeployFailed:  # not this app's function: never ours to delete
        return False
    return aliases.live_version(calls, name) is None


def differences(config: Mapping[str, Any], spec: FunctionSpec) -> list[str]:
    """The settings in which a function's configuration differs from its spec."""
    wanted: dict[str, object] = {
        "Role": spec.role,
        "Handler": spec.handler,
        "Runtime": spec.runtime,
        "MemorySize": spec.memory,
        "Timeout": spec.timeout,
    }
    changed = [key for key, value in wanted.items() if config.get(key) != value]
    if (config.get("Environment") or {}).get("Variables", {}) != spec.environment:
        changed.append("Environment")
    return changed


def _holds(config: Mapping[str, Any], spec: FunctionSpec, code: Code) -> bool:
    """Whether a version (or $LATEST) is exactly this spec running this code."""
    return (
        config.get("CodeSha256") == code.lambda_sha
        and _architecture(config) == spec.architecture
        and not differences(config, spec)
    )


def _settled(config: Mapping[str, Any]) -> bool:
    """Lambda said in its answer that the change is applied: no need to poll for it."""
    return config.get("State") == "Active" and config.get("LastUpdateStatus", "Successful") == (
        "Successful"
    )


def _architecture(config: Mapping[str, Any]) -> str:
    return architecture_or_default(str((config.get("Architectures") or [""])[0]))


def _current(calls: LambdaCalls, name: str, app: str) -> FunctionConfigurationTypeDef | None:
    """$LATEST of the function, refusing one that laambda did not make for this app."""
    try:
        found = calls.call(calls.client.get_function, FunctionName=name)
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise
    owner = found.get("Tags", {}).get(APP_TAG)
    if owner != app:
        # which app holds it is not said: it may be another tenant's
        raise DeployFailed(
            f"{name}: a Lambda function of that name exists and is not app {app!r}'s (another "
            "app's, or not made by laambda); rename the Procfile entry, or ask the operator"
        )
    return found["Configuration"]
