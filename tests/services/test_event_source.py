"""Applying an app's stored event sources after a release, against moto's server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import EventSource
from laambda.deploy import aws, triggers
from laambda.deploy.triggers import rule_name
from laambda.objectstore import ObjectStore
from laambda.services.event_source import event_source_service
from tests.support import factories, released

MISSING_QUEUE = "arn:aws:sqs:us-east-1:123456789012:no-such-queue"


def test_one_refusal_is_logged_and_the_others_still_apply(
    db: Session, settings: Settings, object_store: ObjectStore, tmp_path: Path
) -> None:
    app = released.recorded_app(db, factories.user(), settings)
    released.release_in_aws(app, settings, object_store, tmp_path)
    bad = EventSource(
        app_id=app.id, function="create", kind="sqs", source=MISSING_QUEUE, batch_size=10
    )
    good = EventSource(
        app_id=app.id, function="create", kind="schedule", source="schedule:rate(1 hour)"
    )
    db.add_all([bad, good])
    db.flush()
    lines: list[str] = []

    event_source_service.apply_release(
        db,
        app,
        entries=["create", "resize"],
        triggers=triggers.for_region(settings, app.region),
        log=lines.append,
    )

    function = f"{app.name}-create"
    assert lines[0].startswith(
        f"!      {function}: {MISSING_QUEUE}: AWS refused: Invalid EventSourceArn"
    )
    assert lines[0].endswith("(will retry next release)")
    assert lines[1:] == [f"{function}: event source schedule:rate(1 hour) attached"]
    events: Any = aws.client("events", settings)
    assert events.describe_rule(Name=rule_name(function, "rate(1 hour)"))["State"] == "ENABLED"
    assert (bad.applied_at, good.applied_at is not None) == (None, True)


def test_sources_of_a_function_that_left_are_kept_and_come_back_with_it(
    db: Session, settings: Settings, object_store: ObjectStore, tmp_path: Path
) -> None:
    app = released.recorded_app(db, factories.user(), settings)
    released.release_in_aws(app, settings, object_store, tmp_path)
    url = EventSource(app_id=app.id, function="resize", kind="http", source="http")
    schedule = EventSource(
        app_id=app.id, function="resize", kind="schedule", source="schedule:rate(2 minutes)"
    )
    db.add_all([url, schedule])
    db.flush()
    lines: list[str] = []
    client = triggers.for_region(settings, app.region)
    event_source_service.apply_release(
        db, app, entries=["create", "resize"], triggers=client, log=lines.append
    )
    assert url.url is not None
    function = f"{app.name}-resize"
    lambda_client = aws.lambda_client(settings)
    events: Any = aws.client("events", settings)
    rule = rule_name(function, "rate(2 minutes)")

    event_source_service.apply_release(
        db, app, entries=["create"], triggers=client, log=lines.append
    )

    assert lines[-1] == (
        f"{function}: its event sources http, schedule:rate(2 minutes) are kept and come back "
        "with it"
    )
    rows = db.scalars(select(EventSource).where(EventSource.app_id == app.id)).all()
    assert [(r.source, r.applied_at, r.url) for r in rows] == [
        ("http", None, None),
        ("schedule:rate(2 minutes)", None, None),
    ]
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_function_url_config(FunctionName=function, Qualifier="live")
    assert events.list_rules(NamePrefix=rule)["Rules"] == []
    del lines[:]
    event_source_service.apply_release(  # another release without it says nothing more
        db, app, entries=["create"], triggers=client, log=lines.append
    )
    assert lines == []

    event_source_service.apply_release(
        db, app, entries=["create", "resize"], triggers=client, log=lines.append
    )

    config = lambda_client.get_function_url_config(FunctionName=function, Qualifier="live")
    assert url.url == config["FunctionUrl"]
    assert lines == [
        f"{function}: event source http attached (new URL {url.url})",
        f"{function}: event source schedule:rate(2 minutes) attached",
    ]
    assert events.describe_rule(Name=rule)["State"] == "ENABLED"
    assert url.applied_at is not None
    assert schedule.applied_at is not None
