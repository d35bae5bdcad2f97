"""A field a request body does not declare is refused, naming it, rather than ignored: a
misspelt `verison` must not roll back to the default release (laambda/api/schemas/request.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, User
from tests.support.released import deploy

Auth = dict[str, str]


def _objects(schema: Any, components: dict[str, Any], seen: set[str]) -> Iterator[tuple[str, Any]]:
    """Every object schema with named fields a request body's schema reaches, following
    $ref (to nested models such as AppCreate.pipeline) and combinators."""
    if isinstance(schema, list):
        for item in schema:
            yield from _objects(item, components, seen)
        return
    if not isinstance(schema, dict):
        return
    if (ref := schema.get("$ref")) is not None:
        name = ref.rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            yield name, components[name]
            yield from _objects(components[name], components, seen)
        return
    for key in ("properties", "items", "anyOf", "oneOf", "allOf"):
        if key in schema:
            inner = schema[key]
            yield from _objects(
                list(inner.values()) if key == "properties" else inner, components, seen
            )


def test_every_request_body_forbids_extra_fields(client: TestClient) -> None:
    """Walks the OpenAPI document FastAPI makes from every route's body model (FastAPI 0.165
    includes routers lazily, so the document is the public view of them all)."""
    document = client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    seen: set[str] = set()
    bodies: dict[str, Any] = {}
    for item in document["paths"].values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                schema = content["application/json"]["schema"]
                bodies.update(_objects(schema, components, seen))
    assert {"AppCreate", "AppPlace", "RollbackRequest", "FunctionUpdate"} <= set(bodies)
    lenient = sorted(
        name
        for name, schema in bodies.items()
        if "properties" in schema and schema.get("additionalProperties") is not False
    )
    assert lenient == [], "derive these from laambda.api.schemas.request.RequestBody"


def _refused(client: TestClient, auth: Auth, method: str, path: str, body: Any, field: str) -> None:
    """`field` of `body` is refused by name, in the one error shape."""
    response = client.request(method, path, json=body, headers=auth)
    assert response.status_code == 422, response.text
    assert response.json() == {
        "error": "InvalidInput",
        "detail": f"{field}: Extra inputs are not permitted",
    }


@pytest.fixture
def deployed(
    db: Session, app_row: App, alice: tuple[User, Auth], api_settings: Settings
) -> Callable[[], object]:
    """Deploys 'thumbs' (create, resize) once more on each call: a new release."""
    return lambda: deploy(db, app_row, alice[0], api_settings)


class TestTheTestersCases:
    def test_a_misspelt_rollback_version_rolls_nothing_back(
        self, deployed: Callable[[], object], client: TestClient, auth: Auth
    ) -> None:
        deployed()
        deployed()
        _refused(client, auth, "POST", "/v1/apps/thumbs/rollback", {"verison": 1}, "verison")
        releases = client.get("/v1/apps/thumbs/releases", headers=auth).json()
        assert max(release["version"] for release in releases) == 2

    def test_an_answers_field_name_is_not_an_input(self, client: TestClient, auth: Auth) -> None:
        body = {"name": "rolly", "role_arn": "arn:aws:iam::999:role/x"}
        _refused(client, auth, "POST", "/v1/apps", body, "role_arn")
        assert client.get("/v1/apps/rolly", headers=auth).status_code == 404

    def test_a_misspelt_function_setting_changes_nothing(
        self, deployed: Callable[[], object], client: TestClient, auth: Auth
    ) -> None:
        deployed()
        path = "/v1/apps/thumbs/functions/create"
        _refused(client, auth, "PATCH", path, {"memroy": 2048}, "memroy")
        functions = client.get("/v1/apps/thumbs/functions", headers=auth).json()
        assert {function["memory"] for function in functions} == {1024}

    @pytest.mark.usefixtures("app_row")
    def test_a_misspelt_app_field_is_refused(self, client: TestClient, auth: Auth) -> None:
        _refused(client, auth, "PATCH", "/v1/apps/thumbs", {"brnach": "foo"}, "brnach")
        assert client.get("/v1/apps/thumbs", headers=auth).json()["branch"] is None

    @pytest.mark.usefixtures("app_row")
    def test_a_nested_body_is_strict_too(self, client: TestClient, auth: Auth) -> None:
        body = {"name": "shop-dev", "pipeline": {"name": "shop", "brnach": "develop"}}
        _refused(client, auth, "POST", "/v1/apps", body, "pipeline.brnach")
