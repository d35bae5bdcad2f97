"""An API client over the ASGI app, sharing the test's transaction, and users with tokens:
the fixtures tests/api and tests/web use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from laambda.api.app import create_app, use_settings
from laambda.config import Settings
from laambda.db.models import App, Collaborator, User
from laambda.services.applier import InlineApplier
from laambda.services.user import user_service
from tests.support import factories

Auth = dict[str, str]


@pytest.fixture
def api_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        applier="inline",
        default_role="arn:aws:iam::123456789012:role/lambda-basic",
        data_dir=tmp_path / "data",
    )


@pytest.fixture(scope="session")
def one_api(database_url: str) -> FastAPI:
    """One app for the session's tests, each test pointing it at its own settings (`api`):
    FastAPI analyses an app's routes on their first requests, about 0.2 s of CPU per app."""
    return create_app(Settings(database_url=database_url, applier="inline"))


@pytest.fixture
def api(one_api: FastAPI, api_settings: Settings, sessions: sessionmaker[Session]) -> FastAPI:
    use_settings(one_api, api_settings, InlineApplier(sessions))
    one_api.state.sessions = sessions
    return one_api


@pytest.fixture
def client(api: FastAPI) -> Iterator[TestClient]:
    with TestClient(api) as client:
        yield client


@pytest.fixture
def make_user(db: Session) -> Callable[..., tuple[User, Auth]]:
    def make(email: str | None = None, *, admin: bool = False) -> tuple[User, Auth]:
        user = factories.user(is_admin=admin, **({"email": email} if email else {}))
        _, token = user_service.create_token(db, user, name="test")
        db.commit()
        return user, {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def alice(make_user: Callable[..., tuple[User, Auth]]) -> tuple[User, Auth]:
    return make_user("alice@example.com")


@pytest.fixture
def auth(alice: tuple[User, Auth]) -> Auth:
    return alice[1]


@pytest.fixture
def app_row(db: Session, alice: tuple[User, Auth]) -> App:
    """An app named 'thumbs' that alice collaborates on."""
    app = factories.app(name="thumbs", owner_id=alice[0].id)
    db.add(Collaborator(app_id=app.id, user_id=alice[0].id))
    db.commit()
    return app
