"""An SQS event source mapping on `live` in the local cloud follows the alias, as on Lambda:
after `live` moves and the version it pointed at is deleted (laambda prunes old versions),
a message still reaches the function, run as the version `live` points at now; a deleted
mapping delivers nothing more."""

from __future__ import annotations

import os
from pathlib import Path

from laambda.config import Settings
from laambda.deploy import aws
from laambda.local.runtime.pool import LocalRuntime
from tests.support.archives import zip_of
from tests.support.aws import ROLE, ensure_role

CODE = "def handler(event, context):\n    print('{code} got', event['Records'][0]['body'])\n"


def printed(settings: Settings, name: str) -> list[str]:
    """The function's own lines in its log group, oldest first."""
    logs = aws.client("logs", settings)
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    return [e["message"].strip() for e in events if " got " in e["message"]]


def test_a_mapping_on_live_follows_the_alias_after_old_versions_are_deleted(
    settings: Settings,
    tmp_path: Path,
    local_runtime: LocalRuntime,  # noqa: ARG001 (functions run only with it)
) -> None:
    ensure_role(settings)
    client = aws.lambda_client(settings)
    sqs = aws.client("sqs", settings)
    name = f"m{os.urandom(4).hex()}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]

    def publish(code: str) -> str:
        archive = zip_of({"main.py": CODE.format(code=code)}, tmp_path / f"{code}.zip")
        client.update_function_code(FunctionName=name, ZipFile=archive.read_bytes())
        return client.publish_version(FunctionName=name)["Version"]

    first = zip_of({"main.py": CODE.format(code="one")}, tmp_path / "first.zip")
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="main.handler",
        Code={"ZipFile": first.read_bytes()},
        Timeout=10,
    )
    one = client.publish_version(FunctionName=name)["Version"]
    live = client.create_alias(FunctionName=name, Name="live", FunctionVersion=one)["AliasArn"]
    mapping = client.create_event_source_mapping(
        EventSourceArn=queue, FunctionName=live, BatchSize=1
    )
    assert mapping["FunctionArn"] == live

    sqs.send_message(QueueUrl=queue_url, MessageBody="first")
    for code in ("two", "three"):  # releases: live moves on, the old versions are pruned
        version = publish(code)
        client.update_alias(FunctionName=name, Name="live", FunctionVersion=version)
    client.delete_function(FunctionName=name, Qualifier=one)
    client.delete_function(FunctionName=name, Qualifier=str(int(version) - 1))
    sqs.send_message(QueueUrl=queue_url, MessageBody="second")

    assert printed(settings, name) == ["one got first", "three got second"]
    listed = client.list_event_source_mappings(FunctionName=live)["EventSourceMappings"]
    assert [m["FunctionArn"] for m in listed] == [live]

    client.delete_event_source_mapping(UUID=mapping["UUID"])
    sqs.send_message(QueueUrl=queue_url, MessageBody="third")
    assert printed(settings, name) == ["one got first", "three got second"]
    left = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert [m["Body"] for m in left] == ["third"]
