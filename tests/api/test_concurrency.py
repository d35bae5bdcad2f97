"""Release numbering under load, through a real uvicorn server over a socket, on real commits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from laambda.api.app import create_app
from laambda.config import Settings
from laambda.crypto import Cipher
from laambda.db.models import App, Release
from laambda.db.session import session_scope
from laambda.services.app import app_service
from laambda.services.pipeline import pipeline_service
from laambda.services.user import user_service
from tests.support.net import free_port

CHANGES = 24


@pytest.fixture
def live_api(
    api_settings: Settings,
) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(api_settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_concurrent_config_changes_get_versions_1_to_n(
    live_api: str, api_settings: Settings, committed_sessions: sessionmaker[Session]
) -> None:
    with session_scope(committed_sessions) as session:
        user, token = user_service.create(session, "alice@example.com")
        app_service.create(session, user, name="thumbs", settings=api_settings)
    headers = {"Authorization": f"Bearer {token}"}

    # one client for every thread (a connection each, at once): a client per thread would load
    # the CA bundle CHANGES times
    with (
        httpx.Client(base_url=live_api, headers=headers, timeout=30) as client,
        ThreadPoolExecutor(max_workers=CHANGES) as pool,
    ):

        def change(n: int) -> int:
            response = client.patch("/v1/apps/thumbs/config", json={f"KEY_{n}": str(n)})
            return response.status_code

        statuses = list(pool.map(change, range(CHANGES)))
    assert statuses == [200] * CHANGES

    with session_scope(committed_sessions) as session:
        releases = session.scalars(select(Release).order_by(Release.version)).all()
        assert [r.version for r in releases] == list(range(1, CHANGES + 1))
        descriptions = sorted(r.description for r in releases)
        assert descriptions == sorted(f"Set KEY_{n}" for n in range(CHANGES))
        # each release holds every change made before it: the snapshot grows by one key each time
        sizes = [
            len(Cipher(api_settings.secret_key).decrypt_json(r.config_encrypted)) for r in releases
        ]
        assert sizes == list(range(1, CHANGES + 1))

    with httpx.Client(base_url=live_api, headers=headers) as client:
        listed = client.get("/v1/apps/thumbs/releases", params={"limit": 100}).json()
        assert [r["version"] for r in listed] == list(range(CHANGES, 0, -1))
        assert len(client.get("/v1/apps/thumbs/config").json()) == CHANGES


def test_concurrent_claims_of_one_branch_one_wins(
    live_api: str, api_settings: Settings, committed_sessions: sessionmaker[Session]
) -> None:
    """Apps joining a pipeline at once, all following `develop`: one gets it, the others a
    409 naming it; none a 5xx (the pipeline's row serializes them)."""
    names = [f"shop{n}-dev" for n in range(8)]
    with session_scope(committed_sessions) as session:
        user, token = user_service.create(session, "alice@example.com")
        pipeline_service.create(session, user, name="shop", data_dir=api_settings.data_dir)
        for name in names:
            app_service.create(session, user, name=name, settings=api_settings)
    headers = {"Authorization": f"Bearer {token}"}

    with (
        httpx.Client(base_url=live_api, headers=headers, timeout=30) as client,
        ThreadPoolExecutor(max_workers=len(names)) as pool,
    ):

        def claim(name: str) -> int:
            body = {"app": name, "branch": "develop"}
            return client.post("/v1/pipelines/shop/apps", json=body).status_code

        statuses = list(pool.map(claim, names))
    assert sorted(statuses) == [201] + [409] * (len(names) - 1)
    with session_scope(committed_sessions) as session:
        followers = session.scalars(select(App.name).where(App.branch == "develop")).all()
        assert len(followers) == 1
