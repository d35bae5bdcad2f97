"""Pipelines for the tests, made with the ORM in this one place until the pipeline service
(`pipelines:create`, `pipelines:add`, `apps:create --branch`) is there to use."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from laambda.db.models import App, Pipeline, User
from laambda.db.session import session_scope


def add_pipeline(
    session: Session,
    name: str,
    owner: User,
    *,
    follow: dict[str, tuple[str, str]],
    review_apps: bool = False,
    ttl_seconds: int | None = None,
) -> Pipeline:
    """A pipeline `name` owned by `owner` whose apps (existing ones) follow branches:
    `follow` is {app: (stage, branch)}."""
    pipeline = Pipeline(
        name=name, owner_id=owner.id, review_apps=review_apps, review_ttl_seconds=ttl_seconds
    )
    session.add(pipeline)
    session.flush()
    for app_name, (stage, branch) in follow.items():
        app = session.scalars(select(App).where(App.name == app_name)).one()
        app.pipeline_id, app.stage, app.branch = pipeline.id, stage, branch
    session.flush()
    return pipeline


def make_pipeline(
    sessions: sessionmaker[Session],
    name: str,
    owner: User,
    *,
    follow: dict[str, tuple[str, str]],
    review_apps: bool = False,
    ttl_seconds: int | None = None,
) -> int:
    """`add_pipeline` in a transaction of its own, committed; the pipeline's id."""
    with session_scope(sessions) as session:
        pipeline = add_pipeline(
            session,
            name,
            owner,
            follow=follow,
            review_apps=review_apps,
            ttl_seconds=ttl_seconds,
        )
        return pipeline.id
