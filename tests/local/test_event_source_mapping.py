"""Event source mappings on `live` in the local cloud follow the alias, as on Lambda: after
`live` moves and the version it pointed at is deleted (laambda prunes old versions), a
message or stream record still reaches the function, run as the version `live` points at
now (not `$LATEST`); a deleted mapping delivers nothing more."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from laambda.config import Settings
from laambda.deploy import aws
from laambda.local.runtime.pool import LocalRuntime
from tests.support.archives import zip_of
from tests.support.aws import ROLE, ensure_role

CODE = """\
def handler(event, context):
    record = event['Records'][0]
    print('{code} got', record['eventSource'], record.get('body', ''))
"""


class Function:
    """A function with versions of code `one`, `two`…, and its alias `live`."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        ensure_role(settings)
        self.settings, self.tmp_path = settings, tmp_path
        self.client = aws.lambda_client(settings)
        self.name = f"m{os.urandom(4).hex()}"
        self.client.create_function(
            FunctionName=self.name,
            Runtime="python3.12",
            Role=ROLE,
            Handler="main.handler",
            Code={"ZipFile": self.code("one")},
            Timeout=10,
        )
        self.first = self.client.publish_version(FunctionName=self.name)["Version"]
        self.live = self.client.create_alias(
            FunctionName=self.name, Name="live", FunctionVersion=self.first
        )["AliasArn"]

    def code(self, code: str) -> bytes:
        return zip_of(
            {"main.py": CODE.format(code=code)}, self.tmp_path / f"{code}.zip"
        ).read_bytes()

    def publish(self, code: str) -> str:
        self.client.update_function_code(FunctionName=self.name, ZipFile=self.code(code))
        return self.client.publish_version(FunctionName=self.name)["Version"]

    def release(self, code: str) -> None:
        """What a release and the pruning after it do: `live` moves, the old version goes."""
        before = self.client.get_alias(FunctionName=self.name, Name="live")["FunctionVersion"]
        version = self.publish(code)
        self.client.update_alias(FunctionName=self.name, Name="live", FunctionVersion=version)
        self.client.delete_function(FunctionName=self.name, Qualifier=before)

    def printed(self) -> list[str]:
        """The function's own lines in its log group, oldest first."""
        logs = aws.client("logs", self.settings)
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{self.name}")["events"]
        return [e["message"].strip() for e in events if " got " in e["message"]]


@pytest.fixture
def function(
    settings: Settings,
    tmp_path: Path,
    local_runtime: LocalRuntime,  # noqa: ARG001 (functions run only with it)
) -> Function:
    return Function(settings, tmp_path)


def test_a_queue_mapping_on_live_follows_the_alias_after_old_versions_are_deleted(
    settings: Settings, function: Function
) -> None:
    sqs = aws.client("sqs", settings)
    queue_url = sqs.create_queue(QueueName=function.name)["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    client = function.client
    mapping = client.create_event_source_mapping(
        EventSourceArn=queue, FunctionName=function.live, BatchSize=1
    )
    assert mapping["FunctionArn"] == function.live

    sqs.send_message(QueueUrl=queue_url, MessageBody="first")
    function.release("two")
    function.release("three")
    sqs.send_message(QueueUrl=queue_url, MessageBody="second")

    assert function.printed() == ["one got aws:sqs first", "three got aws:sqs second"]
    listed = client.list_event_source_mappings(FunctionName=function.live)["EventSourceMappings"]
    assert [m["FunctionArn"] for m in listed] == [function.live]

    # pointed at the function itself ($LATEST) instead, it runs the newest code
    client.update_event_source_mapping(UUID=mapping["UUID"], FunctionName=function.name)
    function.publish("four")
    sqs.send_message(QueueUrl=queue_url, MessageBody="third")
    ran = ["one got aws:sqs first", "three got aws:sqs second", "four got aws:sqs third"]
    assert function.printed() == ran

    client.delete_event_source_mapping(UUID=mapping["UUID"])
    sqs.send_message(QueueUrl=queue_url, MessageBody="fourth")
    assert function.printed() == ran
    left = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert [m["Body"] for m in left] == ["fourth"]


def test_stream_mappings_on_live_run_what_live_points_at(
    settings: Settings, function: Function
) -> None:
    kinesis = aws.client("kinesis", settings)
    kinesis.create_stream(StreamName=function.name, ShardCount=1)
    stream = kinesis.describe_stream(StreamName=function.name)["StreamDescription"]["StreamARN"]
    dynamodb = aws.client("dynamodb", settings)
    table = dynamodb.create_table(
        TableName=function.name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    for source in (stream, table["LatestStreamArn"]):
        mapping = function.client.create_event_source_mapping(
            EventSourceArn=source, FunctionName=function.live, StartingPosition="LATEST"
        )
        assert mapping["FunctionArn"] == function.live

    function.release("two")
    function.publish("three")  # $LATEST is newer code than `live`
    kinesis.put_record(StreamName=function.name, Data=b"x", PartitionKey="p")
    dynamodb.put_item(TableName=function.name, Item={"k": {"S": "a"}})

    assert function.printed() == ["two got aws:kinesis", "two got aws:dynamodb"]
