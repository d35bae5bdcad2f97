"""A build cancelled through the API ends cancelled and deploys nothing."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from laambda.api.app import create_app
from laambda.db.models import App, Build, Release
from laambda.db.session import session_scope
from laambda.logstream import follow
from laambda.services.build import build_service
from laambda.services.user import user_service
from tests.support.archives import tarball
from tests.support.platform import Platform, python_app


class _Held:
    """Keeps the build from the worker until the test has asked for its cancellation."""

    def __init__(self) -> None:
        self.build_ids: list[int] = []

    def build(self, build_id: int) -> None:
        self.build_ids.append(build_id)


def test_cancel_through_the_api_stops_the_build_and_deploys_nothing(platform: Platform) -> None:
    app = platform.create_app("cancelled")
    key = "sources/cancelled/x.tar.gz"
    platform.store.put_bytes(key, tarball(python_app(["web"])))
    held = _Held()
    with session_scope(platform.sessions) as session:
        _, token = user_service.create_token(session, platform.user, name="cli")
        build = build_service.create(
            session,
            session.get_one(App, app.id),
            user=platform.user,
            commit="8" * 40,
            source_key=key,
            queue=held,
        )
        build.status = "running"  # as the worker would have it; the API then asks it to stop
        build_id, uid = build.id, build.uid
    with TestClient(create_app(platform.worker.settings)) as client:
        response = client.post(
            f"/v1/apps/cancelled/builds/{build_id}/cancel",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    platform.worker.queue.build(build_id)  # the worker gets it now, already cancelled
    events = [e for e in follow(platform.streams, uid, idle_seconds=2) if e is not None]
    assert (events[-1].status, events[-1].detail) == (
        "cancelled",
        "build cancelled; nothing was deployed",
    )
    deadline = time.monotonic() + 30
    while True:
        with session_scope(platform.sessions) as session:
            status = session.get_one(Build, build_id).status
            releases = session.scalars(select(Release).where(Release.app_id == app.id)).all()
        if status == "cancelled" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == "cancelled"
    assert releases == []
    names = [f["FunctionName"] for f in platform.lambda_client.list_functions()["Functions"]]
    assert "cancelled-web" not in names
