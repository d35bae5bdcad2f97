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
from laambda.services.applier import InlineApplier, ReleaseApplier
from laambda.services.sign_in import sign_in_service
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


_one_app: FastAPI | None = None


def app_for(settings: Settings, applier: ReleaseApplier | None = None) -> FastAPI:
    """The process's one app, made on first use and pointed at `settings` and `applier` (see
    laambda.api.app.use_settings) for the test that asks: FastAPI analyses an app's routes on
    their first requests, about 0.2 s of CPU per app. One test at a time uses it."""
    global _one_app
    if _one_app is None:
        _one_app = create_app(settings, applier)
    else:
        use_settings(_one_app, settings, applier)
    return _one_app


@pytest.fixture
def api(api_settings: Settings, sessions: sessionmaker[Session]) -> FastAPI:
    app = app_for(api_settings, InlineApplier(sessions))
    app.state.sessions = sessions
    return app


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


def session_cookie(db: Session, user: User, settings: Settings) -> str:
    """A dashboard session token (the cookie's value) for `user`, opened by a new API token
    of theirs, as signing in with it on the sign-in page does; committed."""
    api_token, _ = user_service.create_token(db, user, name="dashboard")
    token = sign_in_service.start(db, api_token, settings=settings)
    db.commit()
    return token
