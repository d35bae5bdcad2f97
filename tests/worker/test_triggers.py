"""The live worker applies event sources after each release: stored sources reach AWS on
`live`, applying again adds nothing, and a function leaving the Procfile takes its own along."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from laambda.db.models import EventSource, Release
from laambda.db.session import session_scope
from laambda.deploy import aws
from laambda.deploy.triggers import rule_name
from tests.support.platform import Platform, python_app


def held(platform: Platform, function: str, queue: str) -> dict[str, Any]:
    """What AWS holds on the function's `live` alias."""
    client = platform.lambda_client
    target = client.get_alias(FunctionName=function, Name="live")["AliasArn"]
    events = aws.client("events", platform.worker.settings)
    mappings = client.list_event_source_mappings(FunctionName=target, EventSourceArn=queue)
    url = client.get_function_url_config(FunctionName=function, Qualifier="live")
    return {
        "mappings": [m["UUID"] for m in mappings["EventSourceMappings"]],
        "rules": events.list_rule_names_by_target(TargetArn=target)["RuleNames"],
        "url": url["FunctionUrl"],
    }


def settled(platform: Platform, ready: Callable[[list[EventSource]], bool]) -> list[EventSource]:
    """The app's sources once `ready` holds: they are applied just after the release is
    recorded as succeeded, in the same worker task."""
    deadline = time.monotonic() + 60
    while True:
        with session_scope(platform.sessions) as session:
            rows = list(session.scalars(select(EventSource).order_by(EventSource.id)))
        if ready(rows):
            return rows
        assert time.monotonic() < deadline, platform.worker.tail()
        time.sleep(0.1)


def test_release_applies_stored_sources_once_and_removal_takes_them(platform: Platform) -> None:
    settings = platform.worker.settings
    sqs = aws.client("sqs", settings)
    queue_url = sqs.create_queue(QueueName="wired-jobs")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    app = platform.create_app("wired")
    first = platform.push(app, python_app(["create", "resize"]), commit="c" * 40)
    assert first.outcome.status == "succeeded", first.text
    # stored while the function was not live yet: nothing in AWS until a release
    with session_scope(platform.sessions) as session:
        for kind, source, batch in (
            ("sqs", queue, 10),
            ("schedule", "schedule:rate(5 minutes)", None),
            ("http", "http", None),
        ):
            session.add(
                EventSource(
                    app_id=app.id, function="create", kind=kind, source=source, batch_size=batch
                )
            )

    applied = platform.wait_release(platform.change_config(app, {"BUCKET": "one"}))
    assert applied.status == "succeeded", applied.log
    rows = settled(platform, lambda rows: all(row.applied_at for row in rows))
    now = held(platform, "wired-create", queue)
    assert len(now["mappings"]) == 1
    assert now["rules"] == [rule_name("wired-create", "rate(5 minutes)")]
    assert [row.url for row in rows] == [None, None, now["url"]]
    with session_scope(platform.sessions) as session:
        log = session.get_one(Release, applied.id).log or ""
    assert "wired-create: event source schedule:rate(5 minutes) created" in log
    assert "wired-create: event source http created" in log

    first_applied = max(row.applied_at for row in rows if row.applied_at)
    again = platform.wait_release(platform.change_config(app, {"BUCKET": "two"}))
    assert again.status == "succeeded", again.log
    settled(platform, lambda rows: all(r.applied_at and r.applied_at > first_applied for r in rows))
    assert held(platform, "wired-create", queue) == now

    # create leaves the Procfile: its function is deleted and its sources go with it
    second = platform.push(app, python_app(["resize"], marker="2"), commit="d" * 40)
    assert second.outcome.status == "succeeded", second.text
    settled(platform, lambda rows: rows == [])
    assert (
        platform.lambda_client.list_event_source_mappings(EventSourceArn=queue)[
            "EventSourceMappings"
        ]
        == []
    )
    events = aws.client("events", settings)
    assert events.list_rules(NamePrefix="wired-create")["Rules"] == []
