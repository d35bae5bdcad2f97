"""Event sources in AWS: mappings, schedules and function URLs, all on a function's `live`.

Pointing at the alias (never at a version) is what lets a release or a rollback take effect
by moving `live` alone (DESIGN.md). Every operation looks before it acts, so applying a
source twice leaves AWS as once (a retried task, a release after an API change), and
removing a source that is already gone is not an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from laambda.deploy import aws
from laambda.deploy.aliases import ALIAS
from laambda.deploy.calls import Backoff, LambdaCalls, error_code, error_message, is_missing
from laambda.domain.event_source import SourceSpec
from laambda.errors import AwsRefused

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

    from laambda.config import Settings

TARGET_ID = "live"
URL_SID = "laambda-url"  # lambda:InvokeFunctionUrl for everyone, for a public URL
URL_INVOKE_SID = "laambda-url-invoke"  # lambda:InvokeFunction via the URL (AWS asks for both)
# what the caller got wrong (an ARN that does not exist, a role without rights): 422, not 502
_USER_ERRORS = frozenset(
    {"InvalidParameterValueException", "ResourceNotFoundException", "ValidationException"}
)


@dataclass(frozen=True)
class AppliedSource:
    """What one source now is in AWS: `created` when this call made it, `changed` when it
    updated what was there; neither when AWS held it already."""

    source: str
    created: bool = False
    changed: bool = False
    url: str | None = None


def rule_name(function_name: str, expression: str) -> str:
    """One EventBridge rule per (function, schedule), findable without being stored."""
    digest = hashlib.sha256(f"{function_name} {expression}".encode()).hexdigest()[:10]
    return f"{function_name[:53]}-{digest}"


def for_region(settings: Settings, region: str) -> Triggers:
    return Triggers(aws.lambda_client(settings, region), aws.client("events", settings, region))


class Triggers:
    """Applies and removes event sources of one region; AWS's refusals become AwsRefused."""

    def __init__(
        self, client: LambdaClient, events: Any, *, backoff: Backoff | None = None
    ) -> None:
        self.calls = LambdaCalls(client, backoff=backoff)
        self.events = events

    def alias_arn(self, function_name: str) -> str | None:
        """The ARN of `live`, or None while the function has never been released."""
        try:
            alias = self.calls.call(
                self.calls.client.get_alias, FunctionName=function_name, Name=ALIAS
            )
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise _refused(function_name, "live alias", exc) from None
        except BotoCoreError as exc:
            raise AwsRefused(f"{function_name}: live alias: no answer from AWS ({exc})") from None
        return alias["AliasArn"]

    def ensure(self, function_name: str, spec: SourceSpec) -> AppliedSource | None:
        """Make AWS hold `spec` on the function's `live`; None when there is no `live` yet
        (the release that creates the function applies it)."""
        target = self.alias_arn(function_name)
        if target is None:
            return None
        try:
            if spec.is_stream:
                return self._ensure_mapping(function_name, target, spec)
            if spec.kind == "schedule":
                return self._ensure_schedule(function_name, target, spec)
            return self._ensure_url(function_name, spec)
        except ClientError as exc:
            raise _refused(function_name, spec.source, exc) from None
        except BotoCoreError as exc:
            raise AwsRefused(
                f"{function_name}: {spec.source}: no answer from AWS ({exc})"
            ) from None

    def remove(self, function_name: str, spec: SourceSpec) -> bool:
        """Take `spec` off the function; False when AWS held nothing of it. Works after the
        function itself was deleted (mappings and rules outlive it)."""
        try:
            if spec.is_stream:
                return self._remove_mapping(function_name, spec)
            if spec.kind == "schedule":
                return self._remove_schedule(function_name, spec)
            return self._remove_url(function_name)
        except ClientError as exc:
            raise _refused(function_name, spec.source, exc) from None
        except BotoCoreError as exc:
            raise AwsRefused(
                f"{function_name}: {spec.source}: no answer from AWS ({exc})"
            ) from None

    def sweep(self, functions: Collection[str]) -> list[str]:
        """Take off AWS every event source mapping, schedule rule target and function URL
        that points at one of `functions` (on any qualifier), whether the database knows of
        it or not: what destroying an app leaves nothing of. Returns what was removed, for
        the log; running it again removes nothing more."""
        removed: list[str] = []
        try:
            for mapping in list(self._list_mappings()):
                function_name = _function_of(mapping.get("FunctionArn", ""))
                if function_name in functions:
                    self._delete_mapping(mapping["UUID"])
                    removed.append(f"{function_name}: {mapping.get('EventSourceArn', 'mapping')}")
            for function_name in sorted(functions):
                target = self.alias_arn(function_name)
                if target is not None:
                    removed += [f"{function_name}: rule {rule}" for rule in self._untarget(target)]
                if self._remove_url(function_name):
                    removed.append(f"{function_name}: function URL")
        except ClientError as exc:
            raise _refused(", ".join(sorted(functions)), "cleanup", exc) from None
        except BotoCoreError as exc:
            raise AwsRefused(f"cleanup: no answer from AWS ({exc})") from None
        return removed

    def _untarget(self, target: str) -> list[str]:
        """Remove `target` from every EventBridge rule invoking it; delete rules left with no
        target. The rules' names."""
        names: list[str] = []
        token: str | None = None
        while True:
            page = self.events.list_rule_names_by_target(
                TargetArn=target, **({"NextToken": token} if token else {})
            )
            names += page.get("RuleNames", [])
            token = page.get("NextToken")
            if not token:
                break
        for name in names:
            targets = self.events.list_targets_by_rule(Rule=name).get("Targets", [])
            ours = [t["Id"] for t in targets if t["Arn"] == target]
            if ours:
                self.events.remove_targets(Rule=name, Ids=ours)
            if len(ours) == len(targets):
                self.events.delete_rule(Name=name)
        return names

    # event source mappings (SQS, Kinesis, DynamoDB streams)

    def mappings(self, function_name: str, source_arn: str) -> list[dict[str, Any]]:
        """The mappings from `source_arn` to the function's `live`."""
        target = self.alias_arn(function_name)
        if target is not None:
            return list(self._list_mappings(FunctionName=target, EventSourceArn=source_arn))
        # the function is gone: find what still points at it by the source's side
        return [
            mapping
            for mapping in self._list_mappings(EventSourceArn=source_arn)
            if _function_of(mapping.get("FunctionArn", "")) == function_name
        ]

    def _ensure_mapping(self, function_name: str, target: str, spec: SourceSpec) -> AppliedSource:
        assert spec.arn is not None
        found = self.mappings(function_name, spec.arn)
        if not found:
            options = _batching(spec)
            if spec.kind in ("kinesis", "dynamodb"):
                options["StartingPosition"] = "LATEST"  # new records, not the whole retention
            try:
                self.calls.call_without_conflict_retry(
                    self.calls.client.create_event_source_mapping,
                    EventSourceArn=spec.arn,
                    FunctionName=target,
                    Enabled=True,
                    **options,
                )
            except ClientError as exc:
                # made meanwhile by another applier: fine, it is what we wanted
                if error_code(exc) != "ResourceConflictException":
                    raise
                return self._ensure_mapping(function_name, target, spec)
            return AppliedSource(spec.source, created=True)
        keep, *extra = found
        for mapping in extra:  # two appliers raced: one mapping is enough
            self._delete_mapping(mapping["UUID"])
        if spec.batch_size is not None and keep.get("BatchSize") != spec.batch_size:
            self.calls.call(
                self.calls.client.update_event_source_mapping, UUID=keep["UUID"], **_batching(spec)
            )
            return AppliedSource(spec.source, changed=True)
        return AppliedSource(spec.source)

    def _remove_mapping(self, function_name: str, spec: SourceSpec) -> bool:
        assert spec.arn is not None
        found = self.mappings(function_name, spec.arn)
        for mapping in found:
            self._delete_mapping(mapping["UUID"])
        return bool(found)

    def _delete_mapping(self, uuid: str) -> None:
        try:
            self.calls.call(self.calls.client.delete_event_source_mapping, UUID=uuid)
        except ClientError as exc:
            if not is_missing(exc):
                raise

    def _list_mappings(self, **filters: str) -> Iterator[dict[str, Any]]:
        yield from self.calls.items(
            self.calls.client.list_event_source_mappings, "EventSourceMappings", **filters
        )

    # schedules: an EventBridge rule, its target `live`, and the permission to invoke it

    def _ensure_schedule(self, function_name: str, target: str, spec: SourceSpec) -> AppliedSource:
        assert spec.expression is not None
        name = rule_name(function_name, spec.expression)
        rule = self._rule(name)
        created = changed = False
        if rule is None or rule.get("ScheduleExpression") != spec.expression:
            rule_arn = self.events.put_rule(
                Name=name,
                ScheduleExpression=spec.expression,
                State="ENABLED",
                Description=f"laambda: {spec.source} invokes {function_name}:{ALIAS}",
            )["RuleArn"]
            created, changed = rule is None, rule is not None
        else:
            rule_arn = rule["Arn"]
            if rule.get("State") != "ENABLED":
                self.events.enable_rule(Name=name)
                changed = True
        targets = self.events.list_targets_by_rule(Rule=name).get("Targets", [])
        if not any(t["Id"] == TARGET_ID and t["Arn"] == target for t in targets):
            self.events.put_targets(Rule=name, Targets=[{"Id": TARGET_ID, "Arn": target}])
            changed = changed or not created
        if name not in self._statements(function_name):
            self.calls.call_without_conflict_retry(
                self.calls.client.add_permission,
                FunctionName=function_name,
                Qualifier=ALIAS,
                StatementId=name,
                Action="lambda:InvokeFunction",
                Principal="events.amazonaws.com",
                SourceArn=rule_arn,
            )
            changed = changed or not created
        return AppliedSource(spec.source, created=created, changed=changed)

    def _remove_schedule(self, function_name: str, spec: SourceSpec) -> bool:
        assert spec.expression is not None
        name = rule_name(function_name, spec.expression)
        removed = self._forget_statement(function_name, name)
        if self._rule(name) is None:
            return removed
        targets = self.events.list_targets_by_rule(Rule=name).get("Targets", [])
        if targets:
            self.events.remove_targets(Rule=name, Ids=[t["Id"] for t in targets])
        self.events.delete_rule(Name=name)
        return True

    def _rule(self, name: str) -> dict[str, Any] | None:
        try:
            rule: dict[str, Any] = self.events.describe_rule(Name=name)
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise
        return rule

    # function URLs on `live`, public (NONE) or signed (AWS_IAM)

    def _ensure_url(self, function_name: str, spec: SourceSpec) -> AppliedSource:
        auth = spec.auth or "NONE"
        client = self.calls.client
        current = self._url(function_name)
        created = changed = False
        if current is None:
            current = dict(
                self.calls.call_without_conflict_retry(
                    client.create_function_url_config,
                    FunctionName=function_name,
                    Qualifier=ALIAS,
                    AuthType=auth,  # type: ignore[arg-type]
                )
            )
            created = True
        elif current.get("AuthType") != auth:
            current = dict(
                self.calls.call(
                    client.update_function_url_config,
                    FunctionName=function_name,
                    Qualifier=ALIAS,
                    AuthType=auth,  # type: ignore[arg-type]
                )
            )
            changed = True
        statements = self._statements(function_name)
        if auth == "NONE":
            if URL_SID not in statements:
                self.calls.call_without_conflict_retry(
                    client.add_permission,
                    FunctionName=function_name,
                    Qualifier=ALIAS,
                    StatementId=URL_SID,
                    Action="lambda:InvokeFunctionUrl",
                    Principal="*",
                    FunctionUrlAuthType="NONE",
                )
                changed = changed or not created
            if URL_INVOKE_SID not in statements:
                self.calls.call_without_conflict_retry(
                    client.add_permission,
                    FunctionName=function_name,
                    Qualifier=ALIAS,
                    StatementId=URL_INVOKE_SID,
                    Action="lambda:InvokeFunction",
                    Principal="*",
                    InvokedViaFunctionUrl=True,
                )
                changed = changed or not created
        else:  # signed URLs only: a public grant left from `http` must go
            for sid in (URL_SID, URL_INVOKE_SID):
                if sid in statements:
                    self._forget_statement(function_name, sid)
        return AppliedSource(
            spec.source, created=created, changed=changed, url=current["FunctionUrl"]
        )

    def _remove_url(self, function_name: str) -> bool:
        removed = [self._forget_statement(function_name, sid) for sid in (URL_SID, URL_INVOKE_SID)]
        if self._url(function_name) is None:  # moto deletes a missing one without a word
            return any(removed)
        try:
            self.calls.call(
                self.calls.client.delete_function_url_config,
                FunctionName=function_name,
                Qualifier=ALIAS,
            )
        except ClientError as exc:
            if is_missing(exc):
                return any(removed)
            raise
        return True

    def _url(self, function_name: str) -> dict[str, Any] | None:
        try:
            found = self.calls.call(
                self.calls.client.get_function_url_config,
                FunctionName=function_name,
                Qualifier=ALIAS,
            )
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise
        return dict(found)

    # the resource policy of `live`

    def _statements(self, function_name: str) -> set[str]:
        try:
            found = self.calls.call(
                self.calls.client.get_policy, FunctionName=function_name, Qualifier=ALIAS
            )
        except ClientError as exc:
            if is_missing(exc):
                return set()
            raise
        policy = json.loads(found.get("Policy") or "{}")
        return {str(statement.get("Sid")) for statement in policy.get("Statement", [])}

    def _forget_statement(self, function_name: str, sid: str) -> bool:
        if sid not in self._statements(function_name):
            return False
        try:
            self.calls.call(
                self.calls.client.remove_permission,
                FunctionName=function_name,
                Qualifier=ALIAS,
                StatementId=sid,
            )
        except ClientError as exc:
            if not is_missing(exc):
                raise
        return True


def _batching(spec: SourceSpec) -> dict[str, Any]:
    """BatchSize, and for an SQS queue batches over 10 the one-second batching window that
    Lambda requires with them."""
    options: dict[str, Any] = {"BatchSize": spec.batch_size or 10}
    if spec.kind == "sqs" and (spec.batch_size or 0) > 10:
        options["MaximumBatchingWindowInSeconds"] = 1
    return options


def _function_of(arn: str) -> str:
    """`thumbs-create` of arn:aws:lambda:REGION:ACCOUNT:function:thumbs-create[:QUALIFIER]."""
    parts = arn.split(":")
    return parts[6] if len(parts) > 6 else ""


def _refused(function_name: str, what: str, exc: ClientError) -> AwsRefused:
    status = 422 if error_code(exc) in _USER_ERRORS else 502
    return AwsRefused(f"{function_name}: {what}: AWS refused: {error_message(exc)}", status)
