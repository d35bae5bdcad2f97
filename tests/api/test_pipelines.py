"""Pipelines over the API: stages, branches, who may see and change them, and refusals."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.config import Settings
from laambda.db.models import App, AuditEvent, Build, Collaborator, Pipeline, Release, User
from laambda.objectstore import ObjectStore
from laambda.services.teardown import (
    pipeline_repository_path,
    repository_bundle_key,
    repository_owner,
)
from tests.support import factories, released
from tests.support.released import deploy

Auth = dict[str, str]


@pytest.fixture
def api_settings(database_url: str, moto_url: str, settings: Settings) -> Settings:
    """Destroying a pipeline deletes its repository's copy in the object store: moto's S3."""
    return released.api_settings(database_url, moto_url, settings.data_dir).model_copy(
        update={"artifact_bucket": settings.artifact_bucket}
    )


def _app(db: Session, user: User, name: str, **fields: object) -> App:
    app = factories.app(name=name, owner_id=user.id, **fields)
    db.add(Collaborator(app_id=app.id, user_id=user.id))
    db.commit()
    return app


def _pipeline(client: TestClient, auth: Auth, name: str = "shop") -> None:
    made = client.post("/v1/pipelines", json={"name": name}, headers=auth)
    assert made.status_code == 201, made.text


def _shop_with_carol(
    client: TestClient,
    db: Session,
    alice: tuple[User, Auth],
    make_user: Callable[..., tuple[User, Auth]],
) -> tuple[App, Auth]:
    """alice's pipeline shop with her app shop-staging, which carol collaborates on: the
    app and carol's auth."""
    app = _app(db, alice[0], "shop-staging")
    _pipeline(client, alice[1])
    client.post("/v1/pipelines/shop/apps", json={"app": "shop-staging"}, headers=alice[1])
    carol, carol_auth = make_user("carol@example.com")
    db.add(Collaborator(app_id=app.id, user_id=carol.id))
    db.commit()
    return app, carol_auth


class TestCrud:
    def test_create_add_list_show_remove_destroy(
        self, client: TestClient, auth: Auth, db: Session, alice: tuple[User, Auth]
    ) -> None:
        _app(db, alice[0], "shop-staging")
        _app(db, alice[0], "shop-prod")
        _pipeline(client, auth)
        staging = client.post(
            "/v1/pipelines/shop/apps",
            json={"app": "shop-staging", "branch": "develop"},
            headers=auth,
        )
        assert staging.status_code == 201, staging.text
        body = client.post(
            "/v1/pipelines/shop/apps", json={"app": "shop-prod"}, headers=auth
        ).json()
        assert body["git_url"].endswith("/pipelines/shop")
        assert body["owner"] == "alice@example.com"
        # stages inferred from the names, in promotion order; production follows main
        assert [(a["name"], a["stage"], a["branch"]) for a in body["apps"]] == [
            ("shop-staging", "staging", "develop"),
            ("shop-prod", "production", "main"),
        ]
        assert [p["name"] for p in client.get("/v1/pipelines", headers=auth).json()] == ["shop"]
        app = client.get("/v1/apps/shop-staging", headers=auth).json()
        assert (app["pipeline"], app["stage"], app["branch"]) == ("shop", "staging", "develop")

        removed = client.delete("/v1/pipelines/shop/apps/shop-staging", headers=auth)
        assert removed.status_code == 200, removed.text
        assert [a["name"] for a in removed.json()["apps"]] == ["shop-prod"]
        gone = client.delete("/v1/pipelines/shop", headers=auth)
        assert gone.json() == {"name": "shop", "detached": ["shop-prod"], "destroyed": []}
        app = client.get("/v1/apps/shop-prod", headers=auth).json()
        assert (app["pipeline"], app["stage"], app["branch"]) == (None, None, None)
        assert client.get("/v1/pipelines/shop", headers=auth).status_code == 404
        actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert [a for a in actions if a.startswith("pipeline.")] == [
            "pipeline.create",
            "pipeline.add",
            "pipeline.add",
            "pipeline.remove",
            "pipeline.destroy",
        ]

    def test_live_release_and_commit_are_shown(
        self,
        client: TestClient,
        auth: Auth,
        db: Session,
        alice: tuple[User, Auth],
        api_settings: Settings,
    ) -> None:
        app = _app(db, alice[0], "shop-staging")
        deploy(db, app, alice[0], api_settings, commit="3f9c1ab" + "0" * 33)
        _pipeline(client, auth)
        body = client.post(
            "/v1/pipelines/shop/apps", json={"app": "shop-staging"}, headers=auth
        ).json()
        (row,) = body["apps"]
        assert (row["version"], row["status"], row["commit"]) == (
            1,
            "succeeded",
            "3f9c1ab" + "0" * 33,
        )

    def test_apps_create_joins_a_pipeline_and_update_moves_the_branch(
        self, client: TestClient, auth: Auth, db: Session
    ) -> None:
        _pipeline(client, auth)
        made = client.post(
            "/v1/apps",
            json={"name": "shop-dev", "pipeline": {"name": "shop", "branch": "develop"}},
            headers=auth,
        )
        assert made.status_code == 201, made.text
        assert (made.json()["stage"], made.json()["branch"]) == ("development", "develop")
        changed = client.patch("/v1/apps/shop-dev", json={"branch": "next"}, headers=auth)
        assert changed.status_code == 200, changed.text
        assert changed.json()["branch"] == "next"
        staged = client.patch("/v1/apps/shop-dev", json={"stage": "staging"}, headers=auth)
        assert staged.json()["stage"] == "staging"
        out = client.patch("/v1/apps/shop-dev", json={"pipeline": None}, headers=auth)
        assert out.json()["pipeline"] is None
        events = db.scalars(select(AuditEvent).where(AuditEvent.action == "pipeline.branch")).all()
        assert [(e.detail["previous"], e.detail["branch"]) for e in events] == [("develop", "next")]

    def test_a_destroyed_pipelines_repository_goes_with_it(
        self,
        client: TestClient,
        auth: Auth,
        api_settings: Settings,
        db: Session,
        object_store: ObjectStore,
    ) -> None:
        _pipeline(client, auth)
        repo = pipeline_repository_path(api_settings.data_dir, "shop")
        repo.mkdir(parents=True)
        (repo / "HEAD").write_text("ref: refs/heads/main\n")
        row = db.scalars(select(Pipeline).where(Pipeline.name == "shop")).one()
        bundle = repository_bundle_key(repository_owner(row))  # a receiver's copy
        object_store.put_bytes(bundle, b"# v2 git bundle\n")
        gone = client.delete("/v1/pipelines/shop", headers=auth)
        assert gone.status_code == 200, gone.text
        assert not repo.exists()
        assert not object_store.exists(bundle)


class TestRefusals:
    def test_names_stages_and_branches(
        self, client: TestClient, auth: Auth, db: Session, alice: tuple[User, Auth]
    ) -> None:
        bad = client.post("/v1/pipelines", json={"name": "Shop!"}, headers=auth)
        assert bad.status_code == 422
        assert "not a valid pipeline name" in bad.json()["detail"]
        _pipeline(client, auth)
        again = client.post("/v1/pipelines", json={"name": "shop"}, headers=auth)
        assert (again.status_code, again.json()["error"]) == (409, "PipelineExists")
        _app(db, alice[0], "thumbs")
        unstaged = client.post("/v1/pipelines/shop/apps", json={"app": "thumbs"}, headers=auth)
        assert unstaged.status_code == 422
        assert "which stage is 'thumbs'? give one with --stage" in unstaged.json()["detail"]
        for branch, why in (
            ("feature..x", "it holds '..'"),
            ("-x", "it starts with '-'"),
            ("a b", "it holds a space"),
            ("x.lock", "ends with '.lock'"),
            ("a/.b", "starts with '.'"),
            ("refs/heads/x", "a full ref name, not a branch name: name the branch alone, 'x'"),
        ):
            answer = client.post(
                "/v1/pipelines/shop/apps",
                json={"app": "thumbs", "stage": "staging", "branch": branch},
                headers=auth,
            )
            assert answer.status_code == 422, branch
            assert "is not a valid branch name" in answer.json()["detail"]
            assert why in answer.json()["detail"]
        review = client.post(
            "/v1/pipelines/shop/apps", json={"app": "thumbs", "stage": "review"}, headers=auth
        )
        assert review.status_code == 422

    def test_one_app_per_branch_and_one_pipeline_per_app(
        self, client: TestClient, auth: Auth, db: Session, alice: tuple[User, Auth]
    ) -> None:
        _app(db, alice[0], "shop-staging")
        _app(db, alice[0], "shop-dev")
        _pipeline(client, auth)
        _pipeline(client, auth, "other")
        client.post(
            "/v1/pipelines/shop/apps",
            json={"app": "shop-staging", "branch": "develop"},
            headers=auth,
        )
        taken = client.post(
            "/v1/pipelines/shop/apps", json={"app": "shop-dev", "branch": "develop"}, headers=auth
        )
        assert taken.status_code == 409
        assert taken.json()["detail"].startswith(
            "branch 'develop' of pipeline 'shop' is already followed by 'shop-staging'"
        )
        twice = client.post("/v1/pipelines/other/apps", json={"app": "shop-staging"}, headers=auth)
        assert twice.status_code == 409
        assert "already in pipeline 'shop'" in twice.json()["detail"]
        unknown = client.delete("/v1/pipelines/shop/apps/shop-dev", headers=auth)
        assert unknown.status_code == 404
        # nothing of the refused app creation is kept
        orphan = client.post(
            "/v1/apps",
            json={"name": "shop-prod", "pipeline": {"name": "shop", "branch": "develop"}},
            headers=auth,
        )
        assert orphan.status_code == 409
        assert client.get("/v1/apps/shop-prod", headers=auth).status_code == 404


class TestPermissions:
    def test_others_neither_see_nor_change_a_pipeline(
        self,
        client: TestClient,
        auth: Auth,
        db: Session,
        alice: tuple[User, Auth],
        make_user: Callable[..., tuple[User, Auth]],
    ) -> None:
        _app(db, alice[0], "shop-staging")
        _pipeline(client, auth)
        client.post("/v1/pipelines/shop/apps", json={"app": "shop-staging"}, headers=auth)
        bob, bob_auth = make_user("bob@example.com")
        assert client.get("/v1/pipelines", headers=bob_auth).json() == []
        for method, path, body in (
            ("GET", "/v1/pipelines/shop", None),
            ("DELETE", "/v1/pipelines/shop", None),
            ("DELETE", "/v1/pipelines/shop/apps/shop-staging", None),
            ("GET", "/v1/pipelines/shop/diff", None),
        ):
            answer = client.request(method, path, json=body, headers=bob_auth)
            assert answer.status_code == 404, (method, path, answer.text)
        _app(db, bob, "bob-prod")
        add = client.post("/v1/pipelines/shop/apps", json={"app": "bob-prod"}, headers=bob_auth)
        assert add.status_code == 404
        # alice sees the pipeline but may not put bob's app in it
        theirs = client.post("/v1/pipelines/shop/apps", json={"app": "bob-prod"}, headers=auth)
        assert theirs.status_code == 403
        promote = client.post(
            "/v1/pipelines/promote", json={"app": "shop-staging"}, headers=bob_auth
        )
        assert promote.status_code == 403

    def test_collaborators_see_it_but_only_the_owner_destroys_it(
        self,
        client: TestClient,
        db: Session,
        alice: tuple[User, Auth],
        make_user: Callable[..., tuple[User, Auth]],
    ) -> None:
        _, carol_auth = _shop_with_carol(client, db, alice, make_user)
        seen = client.get("/v1/pipelines/shop", headers=carol_auth)
        assert seen.status_code == 200
        refused = client.delete("/v1/pipelines/shop", headers=carol_auth)
        assert refused.status_code == 403
        assert "only the owner of pipeline 'shop'" in refused.json()["detail"]


class TestTransfer:
    def test_the_owner_transfers_and_the_new_owner_decides(
        self,
        client: TestClient,
        auth: Auth,
        db: Session,
        alice: tuple[User, Auth],
        make_user: Callable[..., tuple[User, Auth]],
    ) -> None:
        app, carol_auth = _shop_with_carol(client, db, alice, make_user)
        _, bob = make_user("bob@example.com")
        body = {"email": "bob@example.com"}
        refused = client.post("/v1/pipelines/shop/transfer", json=body, headers=carol_auth)
        assert refused.status_code == 403
        assert refused.json()["detail"] == (
            "only the owner of pipeline 'shop' or an admin may transfer it"
        )
        hidden = client.post("/v1/pipelines/shop/transfer", json=body, headers=bob)
        assert hidden.status_code == 404
        moved = client.post("/v1/pipelines/shop/transfer", json=body, headers=auth)
        assert moved.status_code == 200, moved.text
        assert moved.json()["owner"] == "bob@example.com"
        assert moved.json()["transferred"] == []
        assert [row["name"] for row in moved.json()["apps"]] == ["shop-staging"]
        assert db.get_one(App, app.id).owner_id == alice[0].id  # its apps keep their owners
        again = client.post("/v1/pipelines/shop/transfer", json=body, headers=bob)
        assert again.status_code == 422
        assert again.json()["detail"] == "bob@example.com already owns pipeline 'shop'"
        kept = client.delete("/v1/pipelines/shop", headers=auth)
        assert kept.status_code == 403  # alice sees it (her app is in it) but owns it no more
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "pipeline.transfer"))
        assert [row.detail for row in event] == [
            {"pipeline": "shop", "to": "bob@example.com", "previous": "alice@example.com"}
        ]

    def test_its_review_apps_move_with_it(
        self,
        client: TestClient,
        auth: Auth,
        db: Session,
        alice: tuple[User, Auth],
        make_user: Callable[..., tuple[User, Auth]],
    ) -> None:
        app, carol_auth = _shop_with_carol(client, db, alice, make_user)
        pipeline = db.scalars(select(Pipeline)).one()
        reviews = [
            _app(
                db,
                alice[0],
                f"shop-feature-{branch}",
                pipeline_id=pipeline.id,
                stage="review",
                branch=f"feature/{branch}",
                review_app=True,
            )
            for branch in ("y", "z")
        ]
        review_ids = [review.id for review in reviews]
        bob, _ = make_user("bob@example.com")
        moved = client.post(
            "/v1/pipelines/shop/transfer", json={"email": "bob@example.com"}, headers=auth
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["transferred"] == ["shop-feature-y", "shop-feature-z"]
        db.expire_all()
        assert [db.get_one(App, i).owner_id for i in review_ids] == [bob.id, bob.id]
        assert db.get_one(App, app.id).owner_id == alice[0].id  # not a review app: kept
        hidden = client.get("/v1/apps/shop-feature-y/config", headers=auth)
        assert hidden.status_code == 403, hidden.text  # she had them only as its owner
        trail = db.scalars(select(AuditEvent).where(AuditEvent.action == "app.transfer"))
        assert [(row.app_name, row.detail["to"], row.detail["previous"]) for row in trail] == [
            ("shop-feature-y", "bob@example.com", "alice@example.com"),
            ("shop-feature-z", "bob@example.com", "alice@example.com"),
        ]
        assert client.get("/v1/pipelines/shop", headers=carol_auth).status_code == 200

    def test_an_admin_gives_an_ownerless_pipeline_an_owner(
        self,
        client: TestClient,
        auth: Auth,
        db: Session,
        make_user: Callable[..., tuple[User, Auth]],
    ) -> None:
        _pipeline(client, auth)
        db.scalars(select(Pipeline)).one().owner_id = None  # as a deleted owner once left it
        db.commit()
        _, root = make_user("root@example.com", admin=True)
        unknown = client.post(
            "/v1/pipelines/shop/transfer", json={"email": "nobody@example.com"}, headers=root
        )
        assert unknown.status_code == 404
        assert unknown.json()["detail"] == "user 'nobody@example.com' does not exist"
        moved = client.post(
            "/v1/pipelines/shop/transfer", json={"email": "alice@example.com"}, headers=root
        )
        assert moved.status_code == 200, moved.text
        assert client.get("/v1/pipelines/shop", headers=auth).json()["owner"] == "alice@example.com"


@pytest.mark.usefixtures("app_row")
def test_promotion_needs_a_pipeline_and_a_live_release(
    client: TestClient, auth: Auth, db: Session, alice: tuple[User, Auth]
) -> None:
    alone = client.post("/v1/pipelines/promote", json={"app": "thumbs"}, headers=auth)
    assert alone.status_code == 409
    assert "'thumbs' is in no pipeline" in alone.json()["detail"]
    _app(db, alice[0], "shop-staging")
    _app(db, alice[0], "shop-prod")
    _pipeline(client, auth)
    for name in ("shop-staging", "shop-prod"):
        client.post("/v1/pipelines/shop/apps", json={"app": name}, headers=auth)
    empty = client.post("/v1/pipelines/promote", json={"app": "shop-staging"}, headers=auth)
    assert (empty.status_code, empty.json()["error"]) == (409, "PromotionRefused")
    assert (
        empty.json()["detail"] == "'shop-staging' has no live release to promote: push to it first"
    )
    top = client.post("/v1/pipelines/promote", json={"app": "shop-prod"}, headers=auth)
    assert top.status_code == 409
    assert top.json()["detail"] == (
        "'shop-prod' is in the last stage of pipeline 'shop' (production): "
        "there is nothing downstream to promote to"
    )
    up = client.post(
        "/v1/pipelines/promote", json={"app": "shop-prod", "to": ["shop-staging"]}, headers=auth
    )
    assert up.status_code == 409
    assert "is not downstream of 'shop-prod'" in up.json()["detail"]
    stranger = client.post(
        "/v1/pipelines/promote", json={"app": "shop-staging", "to": ["thumbs"]}, headers=auth
    )
    assert stranger.status_code == 404
    assert stranger.json()["detail"] == "pipeline 'shop' has no app 'thumbs'"


class TestPromotionRefusals:
    """Each refusal changes nothing: no build, no release in the downstream app."""

    @pytest.fixture
    def staged(
        self,
        client: TestClient,
        auth: Auth,
        db: Session,
        alice: tuple[User, Auth],
        api_settings: Settings,
    ) -> tuple[App, App]:
        staging = _app(db, alice[0], "shop-staging")
        production = _app(db, alice[0], "shop-production-eu-west-1")
        deploy(db, staging, alice[0], api_settings, commit="a" * 40)
        _pipeline(client, auth)
        for name, stage in ((staging.name, "staging"), (production.name, "production")):
            added = client.post(
                "/v1/pipelines/shop/apps", json={"app": name, "stage": stage}, headers=auth
            )
            assert added.status_code == 201, added.text
        return staging, production

    def _refused(self, client: TestClient, auth: Auth, db: Session, production: App) -> str:
        answer = client.post("/v1/pipelines/promote", json={"app": "shop-staging"}, headers=auth)
        assert (answer.status_code, answer.json()["error"]) == (409, "PromotionRefused")
        assert db.scalars(select(Release).where(Release.app_id == production.id)).all() == []
        assert db.scalars(select(Build).where(Build.app_id == production.id)).all() == []
        detail: str = answer.json()["detail"]
        assert detail.startswith("cannot promote to 'shop-production-eu-west-1': ")
        assert detail.endswith("; nothing changed")
        return detail

    def test_a_pinned_runtime_that_differs(
        self, client: TestClient, auth: Auth, db: Session, staged: tuple[App, App]
    ) -> None:
        staged[1].runtime = "nodejs20.x"
        db.commit()
        assert "is pinned to nodejs20.x and the build runs python3.12" in self._refused(
            client, auth, db, staged[1]
        )

    def test_another_architecture(
        self, client: TestClient, auth: Auth, db: Session, staged: tuple[App, App]
    ) -> None:
        staged[1].architecture = "arm64"
        db.commit()
        assert "runs on arm64 and the build was made for x86_64" in self._refused(
            client, auth, db, staged[1]
        )

    def test_function_names_over_lambdas_limit(
        self,
        client: TestClient,
        auth: Auth,
        db: Session,
        alice: tuple[User, Auth],
        api_settings: Settings,
        staged: tuple[App, App],
    ) -> None:
        entry = "e" * 40  # shop-staging-eee… is 53 characters; in production, 66
        deploy(db, staged[0], alice[0], api_settings, procfile={entry: "main.handler"})
        detail = self._refused(client, auth, db, staged[1])
        assert f"the function name 'shop-production-eu-west-1-{entry}' is 66 characters" in detail
        assert "Lambda allows 64" in detail

    def test_while_the_downstream_is_deploying(
        self, client: TestClient, auth: Auth, db: Session, staged: tuple[App, App]
    ) -> None:
        build = factories.build(app_id=staged[1].id, status="running", origin="push")
        db.commit()
        answer = client.post("/v1/pipelines/promote", json={"app": "shop-staging"}, headers=auth)
        assert answer.status_code == 409
        assert (
            f"its build {build.id} is under way; promote once it has ended"
            in (answer.json()["detail"])
        )
        assert db.scalars(select(Release).where(Release.app_id == staged[1].id)).all() == []

    @pytest.mark.usefixtures("staged")
    def test_promoted_in_one_transaction_with_the_downstream_config(
        self, client: TestClient, auth: Auth, db: Session
    ) -> None:
        client.patch(
            "/v1/apps/shop-production-eu-west-1/config", json={"BUCKET": "prod"}, headers=auth
        )
        answer = client.post("/v1/pipelines/promote", json={"app": "shop-staging"}, headers=auth)
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert (body["app"], body["version"]) == ("shop-staging", 1)
        (promoted,) = body["promoted"]
        assert promoted["app"] == "shop-production-eu-west-1"
        assert promoted["release"]["description"] == "Promote v1 of shop-staging"
        assert promoted["release"]["version"] == 2
        shown = client.get("/v1/apps/shop-production-eu-west-1/releases/2", headers=auth).json()
        assert shown["config_keys"] == ["BUCKET"]
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "pipeline.promote")).one()
        assert event.app_name == "shop-production-eu-west-1"
        assert event.detail["source"] == "shop-staging"


def _git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "HOME": str(cwd),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class TestDiff:
    @pytest.fixture
    def history(
        self,
        client: TestClient,
        auth: Auth,
        db: Session,
        alice: tuple[User, Auth],
        api_settings: Settings,
        tmp_path: Path,
    ) -> list[str]:
        """Three commits; staging runs the third, production the first (promoted)."""
        work = tmp_path / "work"
        work.mkdir()
        _git(work, "init", "-q", "-b", "main")
        commits = []
        for n, subject in enumerate(("First", "Add resize", "Fix resize"), start=1):
            (work / "f.txt").write_text(str(n))
            _git(work, "add", "f.txt")
            _git(work, "commit", "-q", "-m", subject)
            commits.append(_git(work, "rev-parse", "HEAD"))
        staging = _app(db, alice[0], "shop-staging")
        production = _app(db, alice[0], "shop-prod")
        first = deploy(db, staging, alice[0], api_settings, commit=commits[0])
        deploy(db, staging, alice[0], api_settings, commit=commits[1])
        deploy(db, staging, alice[0], api_settings, commit=commits[2])
        sha = db.get_one(Build, first.build_id).artifact_sha256
        deploy(db, production, alice[0], api_settings, commit=commits[0], artifact_sha256=sha)
        _pipeline(client, auth)
        for name in ("shop-staging", "shop-prod"):
            client.post("/v1/pipelines/shop/apps", json={"app": name}, headers=auth)
        self.work = work
        return commits

    def test_commits_from_the_pipeline_repository(
        self, client: TestClient, auth: Auth, api_settings: Settings, history: list[str]
    ) -> None:
        repo = pipeline_repository_path(api_settings.data_dir, "shop")
        repo.parent.mkdir(parents=True)
        _git(self.work, "clone", "-q", "--bare", str(self.work), str(repo))
        body = client.get("/v1/pipelines/shop/diff", headers=auth).json()
        assert (body["upstream"], body["downstream"], body["source"]) == (
            "shop-staging",
            "shop-prod",
            "git",
        )
        assert [(c["sha"], c["author"], c["subject"]) for c in body["commits"]] == [
            (history[2], "Ada", "Fix resize"),
            (history[1], "Ada", "Add resize"),
        ]
        assert body["up_to_date"] is False
        named = client.get(
            "/v1/pipelines/shop/diff?from=shop-staging&to=shop-prod", headers=auth
        ).json()
        assert named["commits"] == body["commits"]

    def test_without_a_repository_the_builds_tell(
        self, client: TestClient, auth: Auth, history: list[str]
    ) -> None:
        body = client.get("/v1/pipelines/shop/diff?from=shop-staging", headers=auth).json()
        assert body["source"] == "builds"
        assert [c["sha"] for c in body["commits"]] == [history[2], history[1]]

    @pytest.mark.usefixtures("history")
    def test_refusals(self, client: TestClient, auth: Auth) -> None:
        same = client.get("/v1/pipelines/shop/diff?from=shop-prod&to=shop-prod", headers=auth)
        assert same.status_code == 409
        stranger = client.get("/v1/pipelines/shop/diff?from=thumbs", headers=auth)
        assert stranger.status_code == 404
        assert stranger.json()["detail"] == "pipeline 'shop' has no app 'thumbs'"

    @pytest.mark.usefixtures("history")
    def test_several_downstream_apps_an_upload_and_the_last_stage(
        self,
        client: TestClient,
        auth: Auth,
        db: Session,
        alice: tuple[User, Auth],
        api_settings: Settings,
    ) -> None:
        last = client.get("/v1/pipelines/shop/diff?from=shop-prod", headers=auth)
        assert last.status_code == 409
        assert last.json()["detail"].startswith("nothing downstream of shop-prod")

        # an upload (no commit) in staging is not "up to date"
        staging = db.scalars(select(App).where(App.name == "shop-staging")).one()
        deploy(db, staging, alice[0], api_settings, commit=None, artifact_sha256="f" * 64)
        upload = client.get("/v1/pipelines/shop/diff?from=shop-staging", headers=auth).json()
        assert upload["up_to_date"] is False
        assert upload["commits"] == []
        assert (
            upload["note"] == "shop-staging runs an upload with no commit: cannot compare commits"
        )

        # with two production apps, the diff asks which one instead of picking the first
        _app(db, alice[0], "shop-prod-eu")
        added = client.post(
            "/v1/pipelines/shop/apps",
            json={"app": "shop-prod-eu", "stage": "production"},
            headers=auth,
        )
        assert added.status_code == 201, added.text
        for query in ("?from=shop-staging", ""):
            which = client.get(f"/v1/pipelines/shop/diff{query}", headers=auth)
            assert which.status_code == 409, query
            assert "shop-prod, shop-prod-eu" in which.json()["detail"]
        named = client.get(
            "/v1/pipelines/shop/diff?from=shop-staging&to=shop-prod-eu", headers=auth
        )
        assert named.status_code == 200, named.text


class TestReviewAppsStayReviewApps:
    def test_no_stage_branch_or_pipeline_change_and_the_sweep_spares_former_ones(
        self,
        client: TestClient,
        auth: Auth,
        db: Session,
        alice: tuple[User, Auth],
        make_user: Callable[..., tuple[User, Auth]],
    ) -> None:
        _app(db, alice[0], "shop-staging")
        _pipeline(client, auth)
        _pipeline(client, auth, "other")
        client.post("/v1/pipelines/shop/apps", json={"app": "shop-staging"}, headers=auth)
        pipeline_id = db.scalars(select(App.pipeline_id).where(App.name == "shop-staging")).one()
        review = _app(
            db,
            alice[0],
            "shop-grad",
            pipeline_id=pipeline_id,
            stage="review",
            branch="grad",
            review_app=True,
        )
        carol, carol_auth = make_user("carol@example.com")
        db.add(Collaborator(app_id=review.id, user_id=carol.id))
        db.commit()
        said = "review apps live and die with their branch"
        for who in (auth, carol_auth):
            for change in (
                {"stage": "development", "branch": None},
                {"stage": "production"},
                {"branch": "other"},
                {"pipeline": None},
                {"pipeline": "other", "stage": "staging"},
            ):
                answer = client.patch("/v1/apps/shop-grad", json=change, headers=who)
                assert answer.status_code == 409, (change, answer.text)
                assert said in answer.json()["detail"]
        removed = client.delete("/v1/pipelines/shop/apps/shop-grad", headers=auth)
        assert removed.status_code == 409
        assert said in removed.json()["detail"]
        moved = client.post(
            "/v1/pipelines/other/apps", json={"app": "shop-grad", "stage": "staging"}, headers=auth
        )
        assert moved.status_code == 409
        db.expire_all()
        row = db.get_one(App, review.id)
        assert (row.stage, row.branch, row.pipeline_id) == ("review", "grad", pipeline_id)

        # a row that is no longer in the review stage is never destroyed as a review app
        row.stage = "development"
        db.commit()
        assert client.get("/v1/pipelines/shop/review-apps", headers=auth).json()["apps"] == []
        gone = client.delete("/v1/pipelines/shop/review-apps/shop-grad", headers=auth)
        assert gone.status_code == 404
        assert db.get(App, review.id) is not None
        # and such a row can be taken out by its owner, and is no longer flagged
        out = client.delete("/v1/pipelines/shop/apps/shop-grad", headers=auth)
        assert out.status_code == 200, out.text
        db.expire_all()
        assert db.get_one(App, review.id).review_app is False


class TestWhoChangesAPipelinesApps:
    def test_a_collaborator_neither_adds_moves_nor_removes_apps(
        self,
        client: TestClient,
        auth: Auth,
        db: Session,
        alice: tuple[User, Auth],
        make_user: Callable[..., tuple[User, Auth]],
    ) -> None:
        staging = _app(db, alice[0], "shop-staging")
        _pipeline(client, auth)
        client.post("/v1/pipelines/shop/apps", json={"app": "shop-staging"}, headers=auth)
        eve, eve_auth = make_user("eve@example.com")
        db.add(Collaborator(app_id=staging.id, user_id=eve.id))
        _app(db, eve, "shop-hotfix")
        db.commit()
        # eve sees the pipeline (she works on one of its apps) but cannot put her app in it
        hotfix = client.post(
            "/v1/pipelines/shop/apps",
            json={"app": "shop-hotfix", "stage": "production", "branch": "evil"},
            headers=eve_auth,
        )
        assert hotfix.status_code == 403
        assert (
            "only the owner of pipeline 'shop' or an admin may add apps"
            in (hotfix.json()["detail"])
        )
        for change in ({"stage": "production"}, {"branch": "evil"}, {"pipeline": None}):
            answer = client.patch("/v1/apps/shop-staging", json=change, headers=eve_auth)
            assert answer.status_code == 403, change
            assert "only the owner of 'shop-staging'" in answer.json()["detail"]
        out = client.delete("/v1/pipelines/shop/apps/shop-staging", headers=eve_auth)
        assert out.status_code == 403
        # nor move an app she only collaborates on into a pipeline of her own
        client.post("/v1/pipelines", json={"name": "eves"}, headers=eve_auth)
        taken = client.patch(
            "/v1/apps/shop-staging", json={"pipeline": "eves", "stage": "staging"}, headers=eve_auth
        )
        assert taken.status_code == 403
        db.expire_all()
        row = db.get_one(App, staging.id)
        assert (row.stage, row.branch) == ("staging", None)
        assert db.scalars(select(App.pipeline_id).where(App.name == "shop-hotfix")).one() is None
        # and the owner may not put eve's app in, either: both owners are needed
        theirs = client.post(
            "/v1/pipelines/shop/apps",
            json={"app": "shop-hotfix", "stage": "production"},
            headers=auth,
        )
        assert theirs.status_code == 403
