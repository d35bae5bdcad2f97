"""release.apply: a recorded release (config, resources, rollback) made live in AWS."""

from __future__ import annotations

from laambda.worker.celery_app import DATABASE_RETRIES, celery_app
from laambda.worker.context import get_context
from laambda.worker.rollout import Rollout


@celery_app.task(name="release.apply", acks_late=True, **DATABASE_RETRIES)
def apply(release_id: int) -> str | None:
    """Idempotent: a release that ended is left alone; one cut short is applied again."""
    applied = Rollout(get_context()).apply(release_id)
    return applied.status if applied is not None else None
