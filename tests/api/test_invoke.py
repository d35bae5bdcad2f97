"""Invoking `live` through the API. moto's Lambda cannot run code here (no Docker): what it
answers is what AWS would answer for a function that failed, so the API must pass it on."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, User
from laambda.deploy import aws
from laambda.objectstore import ObjectStore
from tests.support import released

Auth = dict[str, str]


@pytest.fixture
def api_settings(database_url: str, moto_url: str) -> Settings:
    return released.api_settings(database_url, moto_url)


@pytest.fixture
def app(db: Session, alice: tuple[User, Auth], settings: Settings) -> App:
    return released.recorded_app(db, alice[0], settings)


@pytest.fixture
def live_app(app: App, settings: Settings, object_store: ObjectStore, tmp_path: Path) -> App:
    released.release_in_aws(app, settings, object_store, tmp_path)
    return app


# moto's server runs in this process and leaves the socket of its failed Docker call open
pytestmark = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning"
)


@pytest.fixture(autouse=True)
def _moto_without_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto tries to run functions in Docker when DOCKER_HOST names an engine (the build tests'
    podman): its answer then depends on which images that engine lacks. Without one, moto
    answers the same every time."""
    monkeypatch.delenv("DOCKER_HOST", raising=False)


def test_answer_of_live_is_passed_through(
    client: TestClient, auth: Auth, live_app: App, settings: Settings
) -> None:
    direct = aws.lambda_client(settings).invoke(
        FunctionName=f"{live_app.name}-create", Qualifier="live", Payload=b'{"a": 1}'
    )
    expected = direct["Payload"].read().decode()

    response = client.post(
        f"/v1/apps/{live_app.name}/functions/create/invoke",
        json={"payload": {"a": 1}, "log": True},
        headers=auth,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["function"], body["function_name"]) == ("create", f"{live_app.name}-create")
    assert (body["status_code"], body["function_error"]) == (200, direct.get("FunctionError"))
    assert body["function_error"] is not None  # moto could not run it
    assert body["result"] == expected
    gc.collect()  # the leaked socket is reported here, under this test's filter


def test_the_function_name_names_its_entry(client: TestClient, auth: Auth, live_app: App) -> None:
    full = f"{live_app.name}-create"
    response = client.post(
        f"/v1/apps/{live_app.name}/functions/{full}/invoke", json={}, headers=auth
    )
    assert response.status_code == 200, response.text
    assert (response.json()["function"], response.json()["function_name"]) == ("create", full)
    gc.collect()  # the leaked socket is reported here, under this test's filter


def test_unknown_function(client: TestClient, auth: Auth, live_app: App) -> None:
    response = client.post(f"/v1/apps/{live_app.name}/functions/web/invoke", json={}, headers=auth)
    assert response.status_code == 404
    assert response.json() == {
        "error": "FunctionNotFound",
        "detail": f"app '{live_app.name}' has no function 'web'; its functions: create, resize",
    }


def test_function_not_yet_in_aws(client: TestClient, auth: Auth, app: App) -> None:
    response = client.post(f"/v1/apps/{app.name}/functions/create/invoke", json={}, headers=auth)
    assert response.status_code == 404
    assert response.json()["detail"].startswith(f"{app.name}-create has no live release in AWS")


def test_the_release_phase_is_refused_as_no_function(
    db: Session,
    client: TestClient,
    auth: Auth,
    app: App,
    alice: tuple[User, Auth],
    settings: Settings,
) -> None:
    released.deploy(
        db, app, alice[0], settings, procfile={"web": "main.web", "release": "main.migrate"}
    )
    for name in ("release", f"{app.name}-release"):
        response = client.post(
            f"/v1/apps/{app.name}/functions/{name}/invoke", json={}, headers=auth
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"] == (
            "'release' is the release phase: it runs once per release before it goes live, "
            "never by `laambda invoke`; invoke one of the app's functions"
        )
    unknown = client.post(f"/v1/apps/{app.name}/functions/nope/invoke", json={}, headers=auth)
    assert (
        unknown.json()["detail"] == f"app '{app.name}' has no function 'nope'; its functions: web"
    )


def test_a_name_of_two_functions_is_refused_naming_both(
    db: Session,
    client: TestClient,
    auth: Auth,
    app: App,
    alice: tuple[User, Auth],
    settings: Settings,
) -> None:
    both = f"{app.name}-web"  # entry `web`'s function name, and an entry of its own
    released.deploy(db, app, alice[0], settings, procfile={"web": "main.web", both: "main.other"})
    response = client.post(f"/v1/apps/{app.name}/functions/{both}/invoke", json={}, headers=auth)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == (
        f"'{both}' is ambiguous in app '{app.name}': it is the function name of entry web and "
        f"the entry {both}; name entry web as web; name entry {both} as {app.name}-{both}"
    )
    # the spelling the message names reaches that function (here: not in AWS, as deploy() only
    # records the release), not the same refusal again
    named = client.post(
        f"/v1/apps/{app.name}/functions/{app.name}-{both}/invoke", json={}, headers=auth
    )
    assert named.status_code == 404, named.text
    assert named.json()["detail"].startswith(f"{app.name}-{both} has no live release in AWS")
