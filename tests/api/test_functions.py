from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, User
from laambda.services.release import release_service
from tests.support.released import deploy, mark

Auth = dict[str, str]


class TestResources:
    def test_lists_functions_with_defaults(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        deploy(db, app_row, alice[0], api_settings)
        functions = client.get("/v1/apps/thumbs/functions", headers=auth).json()
        assert [
            (f["function_name"], f["handler"], f["memory"], f["timeout"]) for f in functions
        ] == [
            ("thumbs-create", "CreateThumbnail.handler", 1024, 10),
            ("thumbs-resize", "ResizeThumbnail.handler", 1024, 10),
        ]

    def test_memory_change_is_one_release(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        deploy(db, app_row, alice[0], api_settings)
        response = client.patch(
            "/v1/apps/thumbs/functions/create", json={"memory": 2048}, headers=auth
        )
        assert response.status_code == 200, response.text
        release = response.json()["release"]
        assert (release["version"], release["description"]) == (
            2,
            "Set memory of create to 2048 MB",
        )
        assert release["function_settings"] == {"create": {"memory": 2048, "timeout": 10}}
        both = client.patch(
            "/v1/apps/thumbs/functions/resize", json={"memory": 512, "timeout": 30}, headers=auth
        )
        assert both.json()["release"]["description"] == (
            "Set memory of resize to 512 MB and timeout to 30 s"
        )
        same = client.patch("/v1/apps/thumbs/functions/create", json={"memory": 2048}, headers=auth)
        assert same.json()["release"] is None
        assert same.json()["detail"].startswith("nothing changed")

    def test_limits_name_the_field(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        deploy(db, app_row, alice[0], api_settings)
        low = client.patch("/v1/apps/thumbs/functions/create", json={"memory": 64}, headers=auth)
        assert low.status_code == 422
        assert low.json()["detail"] == "memory: Input should be greater than or equal to 128"
        high = client.patch("/v1/apps/thumbs/functions/create", json={"timeout": 901}, headers=auth)
        assert high.json()["detail"] == "timeout: Input should be less than or equal to 900"

    def test_unknown_function_lists_the_procfile(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        none_yet = client.patch("/v1/apps/thumbs/functions/web", json={"memory": 256}, headers=auth)
        assert none_yet.status_code == 404
        assert "its functions: none yet" in none_yet.json()["detail"]
        deploy(db, app_row, alice[0], api_settings)
        response = client.patch("/v1/apps/thumbs/functions/web", json={"memory": 256}, headers=auth)
        assert response.json()["detail"] == (
            "app 'thumbs' has no function 'web'; its functions: create, resize"
        )

    def test_the_function_name_the_list_shows_is_accepted(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        deploy(db, app_row, alice[0], api_settings)
        listed = client.get("/v1/apps/thumbs/functions", headers=auth).json()[0]["function_name"]
        assert listed == "thumbs-create"
        response = client.patch(
            f"/v1/apps/thumbs/functions/{listed}", json={"memory": 512}, headers=auth
        )
        assert response.status_code == 200, response.text
        release = response.json()["release"]
        assert release["description"] == "Set memory of create to 512 MB"
        assert release["function_settings"] == {"create": {"memory": 512, "timeout": 10}}

    def test_the_release_phase_is_not_listed_as_a_function(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        procfile = {"create": "main.create", "resize": "main.resize", "release": "main.migrate"}
        deploy(db, app_row, alice[0], api_settings, procfile=procfile)
        functions = client.get("/v1/apps/thumbs/functions", headers=auth).json()
        assert [f["function_name"] for f in functions] == ["thumbs-create", "thumbs-resize"]
        # its timeout is still set by its name (README: resource:timeout release SECONDS)
        phase = client.patch(
            "/v1/apps/thumbs/functions/release", json={"timeout": 60}, headers=auth
        )
        assert phase.json()["release"]["description"] == "Set timeout of release to 60 s"

    def test_rollback_restores_function_settings(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        deploy(db, app_row, alice[0], api_settings)
        client.patch("/v1/apps/thumbs/functions/create", json={"memory": 2048}, headers=auth)
        client.post("/v1/apps/thumbs/rollback", json={"version": 1}, headers=auth)
        functions = client.get("/v1/apps/thumbs/functions", headers=auth).json()
        assert functions[0]["memory"] == 1024

    def test_a_failed_resource_change_is_not_kept(
        self,
        db: Session,
        app_row: App,
        alice: tuple[User, Auth],
        api_settings: Settings,
        client: TestClient,
        auth: Auth,
    ) -> None:
        deploy(db, app_row, alice[0], api_settings)
        client.patch("/v1/apps/thumbs/functions/create", json={"memory": 2048}, headers=auth)
        client.patch("/v1/apps/thumbs/functions/create", json={"memory": 512}, headers=auth)
        mark(db, release_service.get(db, app_row, 3), "failed", "smoke check failed")
        functions = client.get("/v1/apps/thumbs/functions", headers=auth).json()
        assert functions[0]["memory"] == 2048
        # the next change starts from what is live: 2048 MB, not the 512 that never went live
        again = client.patch(
            "/v1/apps/thumbs/functions/create", json={"memory": 512}, headers=auth
        ).json()
        assert again["release"]["description"] == "Set memory of create to 512 MB"
        config = client.patch("/v1/apps/thumbs/config", json={"Y1": "1"}, headers=auth).json()
        assert config["release"]["function_settings"] == {"create": {"memory": 512, "timeout": 10}}
        mark(db, release_service.get(db, app_row, 5), "failed", "smoke check failed")
        mark(db, release_service.get(db, app_row, 4), "failed", "smoke check failed")
        rolled = client.post("/v1/apps/thumbs/rollback", json={"version": 1}, headers=auth)
        assert rolled.status_code == 201, rolled.text
        mark(db, release_service.get(db, app_row, 6), "failed", "canary: 3 errors")
        y2 = client.patch("/v1/apps/thumbs/config", json={"Y2": "1"}, headers=auth).json()
        # v2 is live: its 2048 MB, not the rollback target's defaults
        assert y2["release"]["function_settings"] == {"create": {"memory": 2048, "timeout": 10}}
