"""The live worker applies event sources after each release: stored sources reach AWS on
`live`, applying again adds nothing, and a function a release lacks (a push without its
entry, a rollback or a promotion to a release before it) takes them off AWS, keeps them, and
has them attached again when a release brings it back."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from laambda.db.models import App, EventSource, Release, User
from laambda.db.session import session_scope
from laambda.deploy import aws, triggers
from laambda.deploy.triggers import rule_name
from laambda.services.event_source import event_source_service
from tests.support.pipelines import make_pipeline
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


def queue_arn(platform: Platform, name: str) -> str:
    sqs = aws.client("sqs", platform.worker.settings)
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def add_sources(platform: Platform, app: App, entry: str, sources: list[str]) -> None:
    """`laambda event-sources:add` of each source, as the API does it."""
    with session_scope(platform.sessions) as session:
        locked = session.get_one(App, app.id, with_for_update=True)
        for source in sources:
            event_source_service.add(
                session,
                locked,
                entry,
                source=source,
                batch_size=None,
                triggers=triggers.for_region(platform.worker.settings, locked.region),
                user=session.get_one(User, platform.user.id),
            )


def in_aws(platform: Platform, function: str, queue: str) -> dict[str, Any]:
    """The mappings from `queue`, the schedule rules and the URL AWS holds for `function`."""
    client = platform.lambda_client
    mappings = client.list_event_source_mappings(EventSourceArn=queue)["EventSourceMappings"]
    events = aws.client("events", platform.worker.settings)
    url: str | None
    try:
        url = client.get_function_url_config(FunctionName=function, Qualifier="live")["FunctionUrl"]
    except client.exceptions.ResourceNotFoundException:
        url = None
    return {
        "mappings": [m["FunctionArn"] for m in mappings],
        "rules": [r["Name"] for r in events.list_rules(NamePrefix=function)["Rules"]],
        "url": url,
    }


def release_log(platform: Platform, release_id: int) -> str:
    with session_scope(platform.sessions) as session:
        return session.get_one(Release, release_id).log or ""


def test_release_applies_sources_once_and_a_push_without_the_function_keeps_them(
    platform: Platform,
) -> None:
    settings = platform.worker.settings
    queue = queue_arn(platform, "wired-jobs")
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
    assert "wired-create: event source schedule:rate(5 minutes) attached" in log
    assert f"wired-create: event source http attached (new URL {now['url']})" in log

    first_applied = max(row.applied_at for row in rows if row.applied_at)
    again = platform.wait_release(platform.change_config(app, {"BUCKET": "two"}))
    assert again.status == "succeeded", again.log
    settled(platform, lambda rows: all(r.applied_at and r.applied_at > first_applied for r in rows))
    assert held(platform, "wired-create", queue) == now

    # create leaves the Procfile: its function is deleted, its sources go off AWS with it
    # and are kept, to come back with it
    second = platform.push(app, python_app(["resize"], marker="2"), commit="d" * 40)
    assert second.outcome.status == "succeeded", second.text
    rows = settled(platform, lambda rows: not any(row.applied_at for row in rows))
    assert [(row.source, row.url) for row in rows] == [
        (queue, None),
        ("schedule:rate(5 minutes)", None),
        ("http", None),
    ]
    assert (
        platform.lambda_client.list_event_source_mappings(EventSourceArn=queue)[
            "EventSourceMappings"
        ]
        == []
    )
    events = aws.client("events", settings)
    assert events.list_rules(NamePrefix="wired-create")["Rules"] == []


def test_rolling_back_past_a_function_keeps_its_sources_and_rolling_forward_attaches_them(
    platform: Platform,
) -> None:
    queue = queue_arn(platform, "rolled-jobs")
    app = platform.create_app("rolled")
    assert platform.push(app, python_app(["hello"]), commit="a" * 40).outcome.status == (
        "succeeded"
    )
    pushed = platform.push(app, python_app(["hello", "other"], marker="2"), commit="b" * 40)
    assert pushed.outcome.status == "succeeded", pushed.text
    add_sources(platform, app, "other", ["http", "schedule:rate(2 minutes)", queue])
    live = platform.lambda_client.get_alias(FunctionName="rolled-other", Name="live")["AliasArn"]
    rule = rule_name("rolled-other", "rate(2 minutes)")
    before = in_aws(platform, "rolled-other", queue)
    assert (before["mappings"], before["rules"]) == ([live], [rule])

    away = platform.wait_release(platform.rollback(app, 1))
    assert away.status == "succeeded", away.log
    rows = settled(platform, lambda rows: not any(row.applied_at for row in rows))
    assert [row.source for row in rows] == ["http", "schedule:rate(2 minutes)", queue]
    assert in_aws(platform, "rolled-other", queue) == {"mappings": [], "rules": [], "url": None}
    log = release_log(platform, away.id)
    assert "rolled-other: deleted" in log
    assert (
        f"rolled-other: its event sources http, schedule:rate(2 minutes), {queue} are kept "
        "and come back with it"
    ) in log
    # what the live release lacks can still be listed and removed, by entry or function name
    with session_scope(platform.sessions) as session:
        locked = session.get_one(App, app.id, with_for_update=True)
        listed = event_source_service.list_for(session, locked, "rolled-other")
        assert [row.source for row in listed] == ["http", "schedule:rate(2 minutes)", queue]
        event_source_service.remove(
            session,
            locked,
            "rolled-other",
            source="schedule:rate(2 minutes)",
            triggers=triggers.for_region(platform.worker.settings, locked.region),
            user=session.get_one(User, platform.user.id),
        )

    back = platform.wait_release(platform.rollback(app, 2))
    assert back.status == "succeeded", back.log
    rows = settled(platform, lambda rows: all(row.applied_at for row in rows))
    now = in_aws(platform, "rolled-other", queue)
    live = platform.lambda_client.get_alias(FunctionName="rolled-other", Name="live")["AliasArn"]
    assert (now["mappings"], now["rules"]) == ([live], [])
    assert [(row.source, row.url) for row in rows] == [("http", now["url"]), (queue, None)]
    log = release_log(platform, back.id)
    assert f"rolled-other: event source http attached (new URL {now['url']})" in log
    assert f"rolled-other: event source {queue} attached" in log


def test_a_promotion_without_a_function_keeps_its_sources_and_one_with_it_attaches_them(
    platform: Platform,
) -> None:
    queue = queue_arn(platform, "promoted-jobs")
    staging = platform.create_app("promoted-staging")
    production = platform.create_app("promoted-prod")
    make_pipeline(
        platform.sessions,
        "promoted",
        platform.user,
        follow={staging.name: ("staging", "main"), production.name: ("production", "prod")},
    )
    assert platform.push(staging, python_app(["web"]), commit="c" * 40).outcome.status == (
        "succeeded"
    )
    own = platform.push(production, python_app(["web", "other"]), commit="d" * 40)
    assert own.outcome.status == "succeeded", own.text
    add_sources(platform, production, "other", [queue, "http"])

    (without,) = platform.promote(staging)
    assert platform.wait_release(without).status == "succeeded"
    settled(platform, lambda rows: len(rows) == 2 and not any(row.applied_at for row in rows))
    assert in_aws(platform, "promoted-prod-other", queue) == {
        "mappings": [],
        "rules": [],
        "url": None,
    }
    assert "promoted-prod-other: its event sources" in release_log(platform, without)

    again = platform.push(staging, python_app(["web", "other"], marker="2"), commit="e" * 40)
    assert again.outcome.status == "succeeded", again.text
    (with_it,) = platform.promote(staging)
    assert platform.wait_release(with_it).status == "succeeded"
    rows = settled(platform, lambda rows: all(row.applied_at for row in rows))
    now = in_aws(platform, "promoted-prod-other", queue)
    live = platform.lambda_client.get_alias(FunctionName="promoted-prod-other", Name="live")
    assert now["mappings"] == [live["AliasArn"]]
    assert [(row.source, row.url) for row in rows] == [(queue, None), ("http", now["url"])]
    assert now["url"] is not None
