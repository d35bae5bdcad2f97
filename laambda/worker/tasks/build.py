"""build.run: a pushed source becomes an artifact, a release, and live functions."""

from __future__ import annotations

from laambda.worker.build_runner import BuildRunner
from laambda.worker.celery_app import DATABASE_RETRIES, celery_app
from laambda.worker.context import get_context


@celery_app.task(name="build.run", acks_late=True, **DATABASE_RETRIES)
def run(build_id: int) -> str | None:
    """Idempotent: an ended build is left alone; one whose worker died is built again."""
    return BuildRunner(get_context()).run(build_id)
