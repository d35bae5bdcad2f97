"""apps:destroy leaves nothing of the app in AWS (moto) or on the platform, and a destroy that
failed half-way finishes when run again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, Build, User
from laambda.deploy import aws, triggers
from laambda.objectstore import ObjectStore
from laambda.services.teardown import repository_path, teardown
from tests.support import factories, released

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

Auth = dict[str, str]
NOTHING: dict[str, list[str]] = {
    "functions": [],
    "mappings": [],
    "rules": [],
    "urls": [],
    "logs": [],
}


@pytest.fixture
def api_settings(database_url: str, moto_url: str, settings: Settings) -> Settings:
    return released.api_settings(database_url, moto_url, settings.data_dir).model_copy(
        update={"artifact_bucket": settings.artifact_bucket}
    )


@pytest.fixture
def live_app(
    db: Session,
    alice: tuple[User, Auth],
    settings: Settings,
    object_store: ObjectStore,
    tmp_path: Path,
) -> App:
    """An app live in moto with a queue, a schedule and a URL on `create`, a mapping the
    database does not know of, objects in the store and a git repository."""
    app = released.recorded_app(db, alice[0], settings)
    released.release_in_aws(app, settings, object_store, tmp_path)
    return app


@pytest.fixture
def lambda_client(settings: Settings) -> LambdaClient:
    return aws.lambda_client(settings)


def queue(settings: Settings) -> str:
    sqs = aws.client("sqs", settings)
    url = sqs.create_queue(QueueName=f"jobs-{os.urandom(3).hex()}")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def furnish(
    client: TestClient, auth: Auth, db: Session, app: App, settings: Settings, store: ObjectStore
) -> str:
    """Everything laambda makes for an app, and a mapping and a rule the database does not
    know of (left by a crash); the key of an artifact another app shares."""
    sources = f"/v1/apps/{app.name}/functions/create/event-sources"
    for source in (queue(settings), "schedule:rate(5 minutes)", "http"):
        added = client.post(sources, json={"source": source}, headers=auth)
        assert added.status_code == 201, added.text
    lam = aws.lambda_client(settings)
    live = lam.get_alias(FunctionName=f"{app.name}-resize", Name="live")["AliasArn"]
    lam.create_event_source_mapping(EventSourceArn=queue(settings), FunctionName=live)
    events = aws.client("events", settings)
    events.put_rule(Name=f"{app.name}-resize-extra", ScheduleExpression="rate(1 hour)")
    events.put_targets(Rule=f"{app.name}-resize-extra", Targets=[{"Id": "x", "Arn": live}])
    logs = aws.client("logs", settings)
    for entry in released.PROCFILE:
        logs.create_log_group(logGroupName=f"/aws/lambda/{app.name}-{entry}")
    store.put_bytes(f"sources/{app.name}/{'a' * 40}.tar.gz", b"tar")
    store.put_bytes(f"build-cache/{app.name}/k.zip", b"zip")
    store.put_bytes(f"build-cache/{app.name}/k.json", b"{}")
    store.put_bytes("artifacts/mine.zip", b"mine")
    store.put_bytes("artifacts/shared.zip", b"shared")
    db.add_all(
        [
            factories.build(app_id=app.id, artifact_key="artifacts/mine.zip"),
            factories.build(app_id=app.id, artifact_key="artifacts/shared.zip"),
        ]
    )
    other = factories.app(name=f"other{os.urandom(3).hex()}")
    db.add(factories.build(app_id=other.id, artifact_key="artifacts/shared.zip"))
    db.commit()
    repo = repository_path(settings.data_dir, app.name)
    (repo / "refs").mkdir(parents=True)
    (repo / "HEAD").write_text("ref: refs/heads/main\n")
    return "artifacts/shared.zip"


def held_in_aws(settings: Settings, app: str) -> dict[str, Any]:
    """What moto holds of the app: functions, mappings, rules, URL configs, log groups."""
    lam = aws.lambda_client(settings)
    events = aws.client("events", settings)
    functions = [
        f["FunctionName"]
        for f in lam.list_functions(MaxItems=1000)["Functions"]
        if f["FunctionName"].startswith(f"{app}-")
    ]
    mappings = [
        m["UUID"]
        for m in lam.list_event_source_mappings()["EventSourceMappings"]
        if f":function:{app}-" in m["FunctionArn"]
    ]
    rules = [r["Name"] for r in events.list_rules(NamePrefix=f"{app}-")["Rules"]]
    urls = []
    for entry in released.PROCFILE:
        try:
            urls.append(
                lam.get_function_url_config(FunctionName=f"{app}-{entry}", Qualifier="live")
            )
        except lam.exceptions.ResourceNotFoundException:
            pass
    groups = aws.client("logs", settings).describe_log_groups(
        logGroupNamePrefix=f"/aws/lambda/{app}-"
    )["logGroups"]
    return {
        "functions": functions,
        "mappings": mappings,
        "rules": rules,
        "urls": urls,
        "logs": [group["logGroupName"] for group in groups],
    }


def stored(store: ObjectStore) -> list[str]:
    listed = store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_destroy_leaves_nothing_but_what_others_use(
    client: TestClient,
    auth: Auth,
    db: Session,
    live_app: App,
    settings: Settings,
    object_store: ObjectStore,
) -> None:
    name = live_app.name
    # the deployer's upload, which no build row of these tests names, is no part of the check
    untracked = stored(object_store)
    shared = furnish(client, auth, db, live_app, settings, object_store)
    before = held_in_aws(settings, name)
    assert len(before["functions"]) == 2
    assert len(before["mappings"]) == 2
    assert len(before["rules"]) == 2
    assert len(before["urls"]) == 1
    assert len(before["logs"]) == 2

    response = client.delete(f"/v1/apps/{name}", headers=auth)

    assert response.status_code == 200, response.text
    removed = response.json()["removed"]
    assert f"function {name}-create" in removed
    assert f"git repository {name}.git" in removed
    urls = [line for line in removed if line.endswith("function URL")]
    assert urls == [], removed  # create's went as its "http" source; resize never had one
    assert held_in_aws(settings, name) == NOTHING
    assert stored(object_store) == sorted([*untracked, shared])
    assert not repository_path(settings.data_dir, name).exists()
    assert client.get(f"/v1/apps/{name}", headers=auth).status_code == 404


class FailingStore(ObjectStore):
    """The real store, but the first prefix delete fails: a destroy stopped half-way."""

    failed = False

    def delete_prefix(self, prefix: str) -> int:
        if not self.failed:
            self.failed = True
            raise OSError("connection reset")
        return super().delete_prefix(prefix)


def test_a_destroy_stopped_half_way_finishes_when_run_again(
    client: TestClient,
    auth: Auth,
    db: Session,
    alice: tuple[User, Auth],
    live_app: App,
    settings: Settings,
    object_store: ObjectStore,
) -> None:
    name = live_app.name
    # the deployer's upload, which no build row of these tests names, is no part of the check
    untracked = stored(object_store)
    shared = furnish(client, auth, db, live_app, settings, object_store)
    failing = FailingStore(object_store.client, object_store.bucket)
    with pytest.raises(OSError, match="connection reset"):
        teardown.destroy(
            db,
            alice[0],
            name,
            settings=settings,
            store=failing,
            triggers=lambda region: triggers.for_region(settings, region),
            logs=lambda region: aws.client("logs", settings, region),
        )
    db.rollback()
    # AWS was emptied before the failure; the app, its objects and its repository remain
    assert held_in_aws(settings, name)["functions"] == []
    assert client.get(f"/v1/apps/{name}", headers=auth).status_code == 200
    assert repository_path(settings.data_dir, name).exists()
    assert db.query(Build).filter(Build.app_id == live_app.id).count() == 3

    again = client.delete(f"/v1/apps/{name}", headers=auth)

    assert again.status_code == 200, again.text
    assert held_in_aws(settings, name) == NOTHING
    assert stored(object_store) == sorted([*untracked, shared])
    assert not repository_path(settings.data_dir, name).exists()
    assert client.get(f"/v1/apps/{name}", headers=auth).status_code == 404
