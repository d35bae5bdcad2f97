"""Event sources against moto's server: what AWS holds on `live` after applying and removing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from laambda.config import Settings
from laambda.deploy import aws
from laambda.deploy.lambda_ import Deployer, FunctionSpec
from laambda.deploy.triggers import Triggers, for_region, rule_name
from laambda.domain.event_source import parse_source
from laambda.errors import AwsRefused
from tests.support.deploy import Artifact

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


@pytest.fixture
def function(
    deployer: Deployer,
    app: str,
    spec: Callable[..., FunctionSpec],
    make_artifact: Callable[..., Artifact],
) -> str:
    """A released function: `live` exists."""
    artifact = make_artifact()
    deployer.deploy(
        app, [spec("web")], artifact=artifact.path, sha256=artifact.sha256, description="v1"
    )
    return f"{app}-web"


@pytest.fixture
def triggers(settings: Settings) -> Triggers:
    return for_region(settings, settings.aws_region)


@pytest.fixture
def events(settings: Settings) -> Any:
    return aws.client("events", settings)


@pytest.fixture
def queue_arn(settings: Settings) -> str:
    sqs = aws.client("sqs", settings)
    url = sqs.create_queue(QueueName=f"jobs-{os.urandom(3).hex()}")["QueueUrl"]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return arn


@pytest.fixture
def stream_arn(settings: Settings) -> str:
    kinesis = aws.client("kinesis", settings)
    name = f"clicks-{os.urandom(3).hex()}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn: str = kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"]
    return arn


@pytest.fixture
def table_stream_arn(settings: Settings) -> str:
    dynamodb = aws.client("dynamodb", settings)
    table = dynamodb.create_table(
        TableName=f"orders-{os.urandom(3).hex()}",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    arn: str = table["TableDescription"]["LatestStreamArn"]
    return arn


def alias_arn(client: LambdaClient, function: str) -> str:
    return client.get_alias(FunctionName=function, Name="live")["AliasArn"]


def mappings(client: LambdaClient, function: str) -> list[dict[str, Any]]:
    """What AWS maps to the function's `live` alias."""
    found = client.list_event_source_mappings(FunctionName=alias_arn(client, function))
    return [dict(m) for m in found["EventSourceMappings"]]


def statements(client: LambdaClient, function: str) -> dict[str, dict[str, Any]]:
    try:
        policy = client.get_policy(FunctionName=function, Qualifier="live")["Policy"]
    except client.exceptions.ResourceNotFoundException:
        return {}
    return {s["Sid"]: s for s in json.loads(policy)["Statement"]}


class TestMappings:
    @pytest.mark.parametrize("source", ["queue_arn", "stream_arn", "table_stream_arn"])
    def test_each_stream_kind_maps_to_live_once_and_goes_away(
        self,
        request: pytest.FixtureRequest,
        source: str,
        triggers: Triggers,
        function: str,
        lambda_client: LambdaClient,
    ) -> None:
        arn = request.getfixturevalue(source)
        spec = parse_source(arn, batch_size=100 if source != "queue_arn" else 5)

        first = triggers.ensure(function, spec)
        again = triggers.ensure(function, spec)

        assert first is not None
        assert first.created
        assert again is not None
        assert (again.created, again.changed) == (False, False)
        held = mappings(lambda_client, function)
        assert [(m["EventSourceArn"], m["BatchSize"]) for m in held] == [(arn, spec.batch_size)]

        assert triggers.remove(function, spec) is True
        assert mappings(lambda_client, function) == []
        assert triggers.remove(function, spec) is False

    def test_batch_size_change_updates_the_mapping(
        self, triggers: Triggers, function: str, queue_arn: str, lambda_client: LambdaClient
    ) -> None:
        triggers.ensure(function, parse_source(queue_arn, batch_size=5))
        changed = triggers.ensure(function, parse_source(queue_arn, batch_size=8))
        assert changed is not None
        assert changed.changed
        assert [m["BatchSize"] for m in mappings(lambda_client, function)] == [8]

    def test_large_sqs_batches_get_the_batching_window_lambda_requires(
        self, triggers: Triggers, function: str, queue_arn: str, lambda_client: LambdaClient
    ) -> None:
        triggers.ensure(function, parse_source(queue_arn, batch_size=50))
        (held,) = mappings(lambda_client, function)
        assert (held["BatchSize"], held["MaximumBatchingWindowInSeconds"]) == (50, 1)

    def test_a_queue_that_does_not_exist_is_refused_with_awss_words(
        self, triggers: Triggers, function: str
    ) -> None:
        missing = parse_source("arn:aws:sqs:us-east-1:123456789012:no-such-queue")
        with pytest.raises(AwsRefused, match="Invalid EventSourceArn") as raised:
            triggers.ensure(function, missing)
        assert raised.value.status_code == 422

    def test_nothing_is_applied_before_the_first_release(
        self, triggers: Triggers, app: str, queue_arn: str
    ) -> None:
        assert triggers.ensure(f"{app}-web", parse_source(queue_arn)) is None

    def test_removal_finds_mappings_of_a_deleted_function(
        self, triggers: Triggers, function: str, queue_arn: str, lambda_client: LambdaClient
    ) -> None:
        triggers.ensure(function, parse_source(queue_arn))
        lambda_client.delete_function(FunctionName=function)
        assert triggers.remove(function, parse_source(queue_arn)) is True
        left = lambda_client.list_event_source_mappings(EventSourceArn=queue_arn)
        assert left["EventSourceMappings"] == []


class TestSchedules:
    def test_rule_targets_live_with_permission_and_is_removed(
        self, triggers: Triggers, function: str, events: Any, lambda_client: LambdaClient
    ) -> None:
        spec = parse_source("schedule:rate(5 minutes)")
        name = rule_name(function, "rate(5 minutes)")

        first = triggers.ensure(function, spec)
        again = triggers.ensure(function, spec)

        assert first is not None
        assert first.created
        assert again is not None
        assert (again.created, again.changed) == (False, False)
        rule = events.describe_rule(Name=name)
        assert (rule["ScheduleExpression"], rule["State"]) == ("rate(5 minutes)", "ENABLED")
        targets = events.list_targets_by_rule(Rule=name)["Targets"]
        assert [(t["Id"], t["Arn"]) for t in targets] == [
            ("live", alias_arn(lambda_client, function))
        ]
        grant = statements(lambda_client, function)[name]
        assert (
            grant["Principal"] == {"Service": "events.amazonaws.com"}
            or grant["Principal"] == "events.amazonaws.com"
        )
        assert events.list_rule_names_by_target(TargetArn=alias_arn(lambda_client, function))[
            "RuleNames"
        ] == [name]

        assert triggers.remove(function, spec) is True
        assert events.list_rules(NamePrefix=name)["Rules"] == []
        assert name not in statements(lambda_client, function)
        assert triggers.remove(function, spec) is False

    def test_two_schedules_are_two_rules(
        self, triggers: Triggers, function: str, events: Any, lambda_client: LambdaClient
    ) -> None:
        triggers.ensure(function, parse_source("schedule:rate(5 minutes)"))
        triggers.ensure(function, parse_source("schedule:cron(0 12 * * ? *)"))
        held = events.list_rule_names_by_target(TargetArn=alias_arn(lambda_client, function))
        assert sorted(held["RuleNames"]) == sorted(
            [rule_name(function, "rate(5 minutes)"), rule_name(function, "cron(0 12 * * ? *)")]
        )


class TestUrls:
    def test_public_url_on_live_with_both_grants(
        self, triggers: Triggers, function: str, lambda_client: LambdaClient
    ) -> None:
        first = triggers.ensure(function, parse_source("http"))
        again = triggers.ensure(function, parse_source("http"))

        assert first is not None
        assert first.created
        assert first.url
        assert first.url.startswith("https://")
        assert again is not None
        assert (again.created, again.changed, again.url) == (False, False, first.url)
        config = lambda_client.get_function_url_config(FunctionName=function, Qualifier="live")
        assert (config["FunctionUrl"], config["AuthType"]) == (first.url, "NONE")
        grants = statements(lambda_client, function)
        assert grants["laambda-url"]["Action"] == "lambda:InvokeFunctionUrl"
        assert grants["laambda-url-invoke"]["Action"] == "lambda:InvokeFunction"
        assert len(grants) == 2

    def test_switching_to_iam_takes_the_public_grants_away(
        self, triggers: Triggers, function: str, lambda_client: LambdaClient
    ) -> None:
        triggers.ensure(function, parse_source("http"))
        switched = triggers.ensure(function, parse_source("http:aws_iam"))
        assert switched is not None
        assert switched.changed
        config = lambda_client.get_function_url_config(FunctionName=function, Qualifier="live")
        assert config["AuthType"] == "AWS_IAM"
        assert statements(lambda_client, function) == {}

    def test_removed(self, triggers: Triggers, function: str, lambda_client: LambdaClient) -> None:
        triggers.ensure(function, parse_source("http"))
        assert triggers.remove(function, parse_source("http")) is True
        with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
            lambda_client.get_function_url_config(FunctionName=function, Qualifier="live")
        assert statements(lambda_client, function) == {}
