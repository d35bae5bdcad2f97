"""factory_boy factories, one per noun; bound to the test's session by the `factories` fixture."""

from __future__ import annotations

from typing import Any

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy.orm import Session

from laambda.db.models import App, Build, User


class _Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_persistence = "flush"


class UserFactory(_Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    is_admin = False


class AppFactory(_Base):
    class Meta:
        model = App

    name = factory.Sequence(lambda n: f"app{n}")
    region = "us-east-1"
    role_arn = "arn:aws:iam::123456789012:role/lambda-basic"


class BuildFactory(_Base):
    class Meta:
        model = Build

    status = "succeeded"
    commit = factory.Faker("sha1")
    runtime = "python3.12"
    architecture = "x86_64"
    artifact_sha256 = factory.Faker("sha256")
    procfile: Any = factory.LazyFunction(
        lambda: {"create": "CreateThumbnail.handler", "resize": "ResizeThumbnail.handler"}
    )
    log = "-----> built\n"


ALL = (UserFactory, AppFactory, BuildFactory)


def user(**fields: Any) -> User:
    made: User = UserFactory(**fields)
    return made


def app(**fields: Any) -> App:
    made: App = AppFactory(**fields)
    return made


def build(**fields: Any) -> Build:
    made: Build = BuildFactory(**fields)
    return made


def bind(session: Session) -> None:
    for factory_class in ALL:
        factory_class._meta.sqlalchemy_session = session
