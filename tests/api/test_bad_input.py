"""Bad input is a 4xx in the one error shape, never a 500; the OpenAPI document says so."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from laambda.db.models import App

Auth = dict[str, str]
TOO_BIG = str(2**63)  # one past PostgreSQL's bigint
INT4_PAST = str(2**31)


@pytest.mark.usefixtures("app_row")
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/v1/apps/thumbs/builds/{TOO_BIG}", None),
        ("GET", f"/v1/apps/thumbs/builds/{'9' * 40}", None),
        ("POST", f"/v1/apps/thumbs/builds/{TOO_BIG}/cancel", None),
        ("GET", f"/v1/apps/thumbs/releases/{INT4_PAST}", None),
        ("GET", "/v1/apps/thumbs/releases/-1", None),
        ("GET", f"/v1/apps/thumbs/releases?offset={TOO_BIG}", None),
        ("GET", f"/v1/apps/thumbs/builds?offset={TOO_BIG}", None),
        ("DELETE", f"/v1/tokens/{TOO_BIG}", None),
        ("DELETE", f"/v1/apps/thumbs/functions/create/event-sources/{TOO_BIG}", None),
        ("POST", "/v1/apps/thumbs/rollback", {"version": 2**31}),
        ("POST", "/v1/apps/thumbs/rollback", {"version": 2**70}),
        ("GET", "/v1/apps/thu%00mbs", None),
        ("GET", "/v1/apps/thumbs/logs?function=a%00b", None),
        ("DELETE", "/v1/apps/thumbs/collaborators/a%00b@x", None),
        ("DELETE", "/v1/keys/SHA256:%00", None),
        ("POST", "/v1/apps", {"name": "thumbs2", "role": "arn:" + "r" * 5000}),
        ("POST", "/v1/apps", {"name": "thumbs2", "region": "us-east-1" * 10}),
        ("POST", "/v1/apps", {"name": "th\x00umbs"}),
        ("POST", "/v1/tokens", {"name": "ci\x00"}),
        ("POST", "/v1/tokens", {"name": "x" * 10_000}),
        ("POST", "/v1/keys", {"public_key": "ssh-ed25519 AAAA\x00 x"}),
        ("POST", "/v1/apps/thumbs/collaborators", {"email": "a\x00@example.com"}),
        ("PATCH", "/v1/apps/thumbs/config", {"A\x00B": "1"}),
        ("PATCH", "/v1/apps/thumbs/config", {"KX": "v\x00"}),
        ("GET", "/v1/apps/thumbs/logs?since=99999999999d", None),
        ("GET", "/v1/apps/thumbs/metrics?since=99999999999d", None),
        ("GET", "/v1/apps/thumbs/logs?since=0001-01-01T00:00:00Z", None),
        ("PATCH", "/v1/apps/thumbs/functions/create", {"memory": 2**70}),
        ("POST", "/v1/apps/thumbs/functions/create/event-sources", {"source": "x" * 5000}),
        ("POST", "/v1/apps/thumbs/functions/create/event-sources", {"source": "http\x00"}),
        ("GET", "/v1/nothing-here", None),
    ],
)
def test_answered_4xx_in_the_one_shape(
    client: TestClient, auth: Auth, method: str, path: str, body: object
) -> None:
    response = client.request(method, path, headers=auth, json=body)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    payload = response.json()
    assert set(payload) == {"error", "detail"}, payload
    assert isinstance(payload["detail"], str)
    assert "\x00" not in payload["detail"]


def test_validation_errors_name_the_field(client: TestClient, auth: Auth, app_row: App) -> None:
    response = client.get(f"/v1/apps/{app_row.name}/releases/{INT4_PAST}", headers=auth)
    assert response.status_code == 422
    assert response.json() == {
        "error": "InvalidInput",
        "detail": "version: Input should be less than or equal to 2147483647",
    }


def test_openapi_describes_the_one_error_shape(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["ErrorRead"]["required"]) == {"error", "detail"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            errors = {code for code in operation["responses"] if not code.startswith("2")}
            assert {"4XX", "422", "5XX"} <= errors, (method, path)
            for code in errors:
                content = operation["responses"][code]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorRead"}


def test_unknown_query_parameters_are_named(client: TestClient, auth: Auth, app_row: App) -> None:
    response = client.get(f"/v1/apps/{app_row.name}/releases?limt=5", headers=auth)
    assert response.status_code == 422
    assert response.json() == {
        "error": "InvalidInput",
        "detail": "unknown query parameter 'limt'; this endpoint takes: limit, offset",
    }
    assert client.get(f"/v1/apps/{app_row.name}/releases?limit=5", headers=auth).status_code == 200
