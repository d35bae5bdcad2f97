"""The Celery application. Tasks are acknowledged late and requeued when their worker dies, so
a deploy cut short is run again; every task is idempotent for that reason."""

from __future__ import annotations

from celery import Celery

from laambda.config import Settings
from laambda.domain.strategy import MAX_SECONDS as CANARY_MAX_SECONDS

celery_app = Celery(
    "laambda", include=["laambda.worker.tasks.build", "laambda.worker.tasks.release"]
)
celery_app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


def configure(settings: Settings) -> Celery:
    """Point the application at the broker from settings (called by workers and senders)."""
    celery_app.conf.update(
        broker_url=settings.broker_url,
        task_default_queue=settings.queue,
        broker_transport_options={"visibility_timeout": settings.task_visibility_timeout},
        # a push's task also watches its release's canary window (worker/canary.py)
        task_time_limit=settings.build_timeout + 600 + CANARY_MAX_SECONDS,
        task_soft_time_limit=settings.build_timeout + 300 + CANARY_MAX_SECONDS,
    )
    return celery_app
