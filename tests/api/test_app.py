"""One app given other settings (laambda.api.app.use_settings, what the `api` fixture does for
each test) answers with them, not with the parts it made from the earlier ones."""

from __future__ import annotations

from fastapi.testclient import TestClient

from laambda.api.app import create_app, use_settings
from laambda.config import Settings
from laambda.domain.strategy import longest_window
from laambda.objectstore import ObjectStore


def _window_maximum(client: TestClient) -> int:
    document = client.get("/openapi.json").json()
    fields = document["components"]["schemas"]["DeployStrategyUpdate"]["properties"]
    maximum: int = fields["seconds"]["maximum"]
    return maximum


def test_an_app_given_other_settings_answers_with_them(
    database_url: str, settings: Settings, object_store: ObjectStore
) -> None:
    first = settings.model_copy(update={"database_url": database_url, "applier": "inline"})
    api = create_app(first)
    with TestClient(api) as client:
        store = client.get("/health").json()["parts"]["object_store"]
        assert store == {"status": "up", "bucket": object_store.bucket}
        assert _window_maximum(client) == longest_window(first.push_lock_timeout)

    second = first.model_copy(
        update={
            "aws_endpoint_url": "http://127.0.0.1:9",  # nothing listens there
            "push_lock_timeout": first.push_lock_timeout * 2,
        }
    )
    use_settings(api, second)
    with TestClient(api) as client:
        # the object store made from the first settings is forgotten
        store = client.get("/health").json()["parts"]["object_store"]
        assert store["status"] == "down", store
        assert _window_maximum(client) == longest_window(second.push_lock_timeout)
        assert longest_window(second.push_lock_timeout) != longest_window(first.push_lock_timeout)
