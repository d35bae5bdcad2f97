"""Event sources through the API: what the user is answered and what AWS then holds."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, User
from laambda.deploy import aws
from laambda.deploy.triggers import rule_name
from laambda.objectstore import ObjectStore
from tests.support import released
from tests.support.released import deploy

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

Auth = dict[str, str]


@pytest.fixture
def api_settings(database_url: str, moto_url: str, tmp_path: Path) -> Settings:
    return released.api_settings(database_url, moto_url, tmp_path / "data")


@pytest.fixture
def app(db: Session, alice: tuple[User, Auth], settings: Settings) -> App:
    return released.recorded_app(db, alice[0], settings)


@pytest.fixture
def live_app(app: App, settings: Settings, object_store: ObjectStore, tmp_path: Path) -> App:
    released.release_in_aws(app, settings, object_store, tmp_path)
    return app


@pytest.fixture
def lambda_client(settings: Settings) -> LambdaClient:
    return aws.lambda_client(settings)


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


def url(app: App, function: str = "create") -> str:
    return f"/v1/apps/{app.name}/functions/{function}/event-sources"


def alias_arn(client: LambdaClient, function: str) -> str:
    return client.get_alias(FunctionName=function, Name="live")["AliasArn"]


def mapped(client: LambdaClient, function: str) -> list[tuple[str, int]]:
    found = client.list_event_source_mappings(FunctionName=alias_arn(client, function))
    return [(m["EventSourceArn"], m["BatchSize"]) for m in found["EventSourceMappings"]]


def scheduled(events: Any, client: LambdaClient, function: str) -> list[str]:
    found: list[str] = events.list_rule_names_by_target(TargetArn=alias_arn(client, function))[
        "RuleNames"
    ]
    return found


def grants(client: LambdaClient, function: str) -> set[str]:
    try:
        policy = client.get_policy(FunctionName=function, Qualifier="live")["Policy"]
    except client.exceptions.ResourceNotFoundException:
        return set()
    return {s["Sid"] for s in json.loads(policy)["Statement"]}


class TestAdd:
    def test_queue_is_mapped_to_live_and_listed(
        self,
        client: TestClient,
        auth: Auth,
        live_app: App,
        queue_arn: str,
        lambda_client: LambdaClient,
    ) -> None:
        response = client.post(
            url(live_app), json={"source": queue_arn, "batch_size": 5}, headers=auth
        )

        assert response.status_code == 201, response.text
        body = response.json()
        assert {k: body[k] for k in ("function", "function_name", "kind", "source")} == {
            "function": "create",
            "function_name": f"{live_app.name}-create",
            "kind": "sqs",
            "source": queue_arn,
        }
        assert (body["batch_size"], body["applied"], body["url"]) == (5, True, None)
        assert mapped(lambda_client, f"{live_app.name}-create") == [(queue_arn, 5)]
        listed = client.get(url(live_app), headers=auth).json()
        assert [(s["id"], s["source"]) for s in listed] == [(body["id"], queue_arn)]

    def test_adding_twice_is_refused_and_creates_nothing(
        self,
        client: TestClient,
        auth: Auth,
        live_app: App,
        queue_arn: str,
        lambda_client: LambdaClient,
    ) -> None:
        client.post(url(live_app), json={"source": queue_arn}, headers=auth)
        again = client.post(url(live_app), json={"source": queue_arn}, headers=auth)
        assert again.status_code == 409
        assert again.json() == {
            "error": "EventSourceExists",
            "detail": f"create already has event source {queue_arn}",
        }
        assert mapped(lambda_client, f"{live_app.name}-create") == [(queue_arn, 10)]

    def test_new_batch_size_updates_the_mapping(
        self,
        client: TestClient,
        auth: Auth,
        live_app: App,
        queue_arn: str,
        lambda_client: LambdaClient,
    ) -> None:
        client.post(url(live_app), json={"source": queue_arn}, headers=auth)
        changed = client.post(
            url(live_app), json={"source": queue_arn, "batch_size": 7}, headers=auth
        )
        assert changed.status_code == 200
        assert changed.json()["batch_size"] == 7
        assert mapped(lambda_client, f"{live_app.name}-create") == [(queue_arn, 7)]

    def test_schedule_makes_a_rule_targeting_live(
        self,
        client: TestClient,
        auth: Auth,
        live_app: App,
        lambda_client: LambdaClient,
        events: Any,
    ) -> None:
        function = f"{live_app.name}-resize"
        response = client.post(
            url(live_app, "resize"), json={"source": "schedule:cron(0 12 * * ? *)"}, headers=auth
        )
        assert response.status_code == 201
        name = rule_name(function, "cron(0 12 * * ? *)")
        assert scheduled(events, lambda_client, function) == [name]
        assert events.describe_rule(Name=name)["ScheduleExpression"] == "cron(0 12 * * ? *)"
        assert name in grants(lambda_client, function)

    def test_http_answers_the_url_aws_gave(
        self, client: TestClient, auth: Auth, live_app: App, lambda_client: LambdaClient
    ) -> None:
        body = client.post(url(live_app), json={"source": "http"}, headers=auth).json()
        config = lambda_client.get_function_url_config(
            FunctionName=f"{live_app.name}-create", Qualifier="live"
        )
        assert body["url"] == config["FunctionUrl"]
        assert config["AuthType"] == "NONE"

    def test_second_url_kind_is_refused(
        self, client: TestClient, auth: Auth, live_app: App
    ) -> None:
        client.post(url(live_app), json={"source": "http"}, headers=auth)
        other = client.post(url(live_app), json={"source": "http:aws_iam"}, headers=auth)
        assert other.status_code == 409
        assert "already has a function URL (http)" in other.json()["detail"]

    def test_before_the_first_release_it_is_stored_not_applied(
        self, client: TestClient, auth: Auth, app: App
    ) -> None:
        body = client.post(url(app), json={"source": "schedule:rate(1 hour)"}, headers=auth).json()
        assert (body["applied"], body["applied_at"]) == (False, None)


class TestRefusals:
    @pytest.mark.parametrize(
        ("source", "detail"),
        [
            ("arn:aws:s3:::photos", "s3 ARNs are not supported as event sources"),
            ("schedule:rate(5 minute)", "write rate(5 minutes)"),
            ("ftp://example.com", "is not an event source"),
        ],
    )
    def test_malformed_or_unsupported(
        self, client: TestClient, auth: Auth, live_app: App, source: str, detail: str
    ) -> None:
        response = client.post(url(live_app), json={"source": source}, headers=auth)
        assert response.status_code == 422
        assert response.json()["error"] == "InvalidInput"
        assert detail in response.json()["detail"]

    def test_unknown_function(self, client: TestClient, auth: Auth, live_app: App) -> None:
        response = client.post(url(live_app, "nope"), json={"source": "http"}, headers=auth)
        assert response.status_code == 404
        assert response.json() == {
            "error": "FunctionNotFound",
            "detail": f"app '{live_app.name}' has no function 'nope'; "
            "its functions: create, resize",
        }

    def test_the_release_phase_takes_no_event_source(
        self, client: TestClient, auth: Auth, live_app: App
    ) -> None:
        response = client.post(url(live_app, "release"), json={"source": "http"}, headers=auth)
        assert response.status_code == 422
        assert "'release' is the release phase" in response.json()["detail"]

    def test_the_function_name_names_its_entry(
        self,
        db: Session,
        client: TestClient,
        auth: Auth,
        live_app: App,
        alice: tuple[User, Auth],
        settings: Settings,
    ) -> None:
        full = f"{live_app.name}-create"
        added = client.post(url(live_app, full), json={"source": "http"}, headers=auth)
        assert added.status_code == 201, added.text
        assert (added.json()["function"], added.json()["function_name"]) == ("create", full)
        assert [s["source"] for s in client.get(url(live_app, full), headers=auth).json()] == [
            "http"
        ]
        removed = client.delete(url(live_app, full), params={"all": "true"}, headers=auth)
        assert [s["function"] for s in removed.json()] == ["create"]
        assert client.get(url(live_app), headers=auth).json() == []
        # the release phase's function name is the release phase too
        deploy(
            db,
            live_app,
            alice[0],
            settings,
            procfile={"create": "main.create", "release": "main.migrate"},
        )
        phase = f"{live_app.name}-release"
        refused = client.post(url(live_app, phase), json={"source": "http"}, headers=auth)
        assert refused.status_code == 422
        assert "'release' is the release phase" in refused.json()["detail"]
        # an entry named like another entry's function: the unambiguous spelling the refusal
        # names is taken once, by listing, removing and clearing alike
        both = f"{live_app.name}-create"
        deploy(
            db,
            live_app,
            alice[0],
            settings,
            procfile={"create": "main.create", both: "main.other"},
        )
        spelled = f"{live_app.name}-{both}"
        assert client.get(url(live_app, both), headers=auth).status_code == 422
        assert client.get(url(live_app, spelled), headers=auth).json() == []
        cleared = client.delete(url(live_app, spelled), params={"all": "true"}, headers=auth)
        assert (cleared.status_code, cleared.json()) == (200, [])
        one = client.delete(url(live_app, spelled), params={"source": "http"}, headers=auth)
        assert one.json()["error"] == "EventSourceNotFound", one.text

    def test_listing_release_answers_like_any_function(
        self,
        db: Session,
        client: TestClient,
        auth: Auth,
        live_app: App,
        alice: tuple[User, Auth],
        settings: Settings,
    ) -> None:
        # not in the Procfile: like any unknown function
        unknown = client.get(url(live_app, "release"), headers=auth)
        assert unknown.status_code == 404
        assert unknown.json() == {
            "error": "FunctionNotFound",
            "detail": f"app '{live_app.name}' has no function 'release'; "
            "its functions: create, resize",
        }
        removed = client.delete(url(live_app, "release"), params={"all": "true"}, headers=auth)
        assert removed.status_code == 404
        assert removed.json()["error"] == "FunctionNotFound"
        # the release phase's entry: a real entry, with no event sources
        deploy(
            db,
            live_app,
            alice[0],
            settings,
            procfile={"create": "main.create", "release": "main.migrate"},
        )
        listed = client.get(url(live_app, "release"), headers=auth)
        assert listed.status_code == 200, listed.text
        assert listed.json() == []

    def test_aws_refusal_stores_nothing(
        self, client: TestClient, auth: Auth, live_app: App
    ) -> None:
        missing = "arn:aws:sqs:us-east-1:123456789012:no-such-queue"
        response = client.post(url(live_app), json={"source": missing}, headers=auth)
        assert response.status_code == 422
        assert response.json()["error"] == "AwsRefused"
        assert "Invalid EventSourceArn" in response.json()["detail"]
        assert client.get(url(live_app), headers=auth).json() == []

    def test_arns_the_operator_did_not_allow_are_refused(
        self,
        client: TestClient,
        auth: Auth,
        live_app: App,
        lambda_client: LambdaClient,
        make_user: Any,
    ) -> None:
        other = "arn:aws:sqs:us-east-1:999999999999:payroll"
        response = client.post(url(live_app), json={"source": other}, headers=auth)
        assert response.status_code == 403
        assert response.json() == {
            "error": "PermissionDenied",
            "detail": f"event source '{other}' is not allowed on this platform: "
            "LAAMBDA_ALLOWED_EVENT_SOURCE_ARNS permits arn:aws:*:*:123456789012:*; "
            "ask an admin to attach it or to allow it",
        }
        assert client.get(url(live_app), headers=auth).json() == []
        assert mapped(lambda_client, f"{live_app.name}-create") == []
        # an admin may attach it (AWS then decides: moto has no such queue)
        _, root = make_user("root@example.com", admin=True)
        by_admin = client.post(url(live_app), json={"source": other}, headers=root)
        assert by_admin.json()["error"] == "AwsRefused"

    def test_strangers_may_not(
        self,
        client: TestClient,
        live_app: App,
        make_user: Any,
    ) -> None:
        _, stranger = make_user("mallory@example.com")
        response = client.post(url(live_app), json={"source": "http"}, headers=stranger)
        assert response.status_code == 403


class TestRemove:
    def test_by_source_and_by_id(
        self,
        client: TestClient,
        auth: Auth,
        live_app: App,
        queue_arn: str,
        lambda_client: LambdaClient,
        events: Any,
    ) -> None:
        function = f"{live_app.name}-create"
        client.post(url(live_app), json={"source": queue_arn}, headers=auth)
        schedule = client.post(
            url(live_app), json={"source": "schedule:rate(5 minutes)"}, headers=auth
        ).json()

        gone = client.delete(url(live_app), params={"source": queue_arn}, headers=auth)
        assert gone.status_code == 200
        assert [s["source"] for s in gone.json()] == [queue_arn]
        assert mapped(lambda_client, function) == []

        by_id = client.delete(f"{url(live_app)}/{schedule['id']}", headers=auth)
        assert by_id.json()["source"] == "schedule:rate(5 minutes)"
        assert scheduled(events, lambda_client, function) == []
        assert grants(lambda_client, function) == set()
        assert client.get(url(live_app), headers=auth).json() == []

    def test_unknown_source_names_what_there_is(
        self, client: TestClient, auth: Auth, live_app: App
    ) -> None:
        client.post(url(live_app), json={"source": "http"}, headers=auth)
        response = client.delete(
            url(live_app), params={"source": "schedule:rate(5 minutes)"}, headers=auth
        )
        assert response.status_code == 404
        assert response.json() == {
            "error": "EventSourceNotFound",
            "detail": "create has no event source schedule:rate(5 minutes); "
            "its event sources: http",
        }

    def test_clear_removes_every_kind(
        self,
        client: TestClient,
        auth: Auth,
        live_app: App,
        queue_arn: str,
        lambda_client: LambdaClient,
        events: Any,
    ) -> None:
        function = f"{live_app.name}-create"
        for source in (queue_arn, "schedule:rate(5 minutes)", "http"):
            assert client.post(url(live_app), json={"source": source}, headers=auth).is_success

        cleared = client.delete(url(live_app), params={"all": "true"}, headers=auth)

        assert [s["kind"] for s in cleared.json()] == ["sqs", "schedule", "http"]
        assert mapped(lambda_client, function) == []
        assert scheduled(events, lambda_client, function) == []
        assert grants(lambda_client, function) == set()
        with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
            lambda_client.get_function_url_config(FunctionName=function, Qualifier="live")
        assert client.get(url(live_app), headers=auth).json() == []

    def test_neither_source_nor_all(self, client: TestClient, auth: Auth, live_app: App) -> None:
        response = client.delete(url(live_app), headers=auth)
        assert response.status_code == 422
        assert response.json()["detail"] == "name the event source to remove: its source or its id"
