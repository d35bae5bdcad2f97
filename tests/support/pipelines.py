"""Pipelines for the tests, made through the pipeline and review app services (what
`pipelines:create`, `pipelines:add` and `reviewapps:enable` do), in this one place."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from laambda.db.models import Pipeline, User
from laambda.db.session import session_scope
from laambda.services.pipeline import pipeline_service
from laambda.services.review_app import review_app_service


def add_pipeline(
    session: Session,
    name: str,
    owner: User,
    *,
    follow: dict[str, tuple[str, str]],
    review_apps: bool = False,
    ttl_seconds: int | None = None,
) -> Pipeline:
    """A pipeline `name` owned by `owner` whose apps (existing ones the owner may change)
    follow branches: `follow` is {app: (stage, branch)}; review apps on with a TTL when asked."""
    with tempfile.TemporaryDirectory() as nowhere:  # no repository of a former pipeline
        pipeline = pipeline_service.create(session, owner, name=name, data_dir=Path(nowhere))
    for app_name, (stage, branch) in follow.items():
        pipeline_service.add(session, owner, name, app=app_name, stage=stage, branch=branch)
    if review_apps:
        ttl = f"{ttl_seconds}s" if ttl_seconds is not None else None
        review_app_service.configure(session, owner, name, enabled=True, ttl=ttl)
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
        owner = session.merge(owner)
        pipeline = add_pipeline(
            session,
            name,
            owner,
            follow=follow,
            review_apps=review_apps,
            ttl_seconds=ttl_seconds,
        )
        return pipeline.id
