"""The Celery application. Tasks are acknowledged late and requeued when their worker dies, so
a deploy cut short is run again; every task is idempotent for that reason."""

from __future__ import annotations

from typing import Any

from celery import Celery
from sqlalchemy.exc import OperationalError

from laambda.config import Settings
from laambda.domain.strategy import MAX_SECONDS as CANARY_MAX_SECONDS

# A database that refuses a connection for a while (too many clients, a failover) makes a task
# try again later rather than end: a build or release whose task ended that way would stay
# pending, with its pusher waiting, until someone pushed again. Both tasks are idempotent.
DATABASE_RETRIES: dict[str, Any] = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 2,  # seconds, doubled each time, with jitter
    "retry_backoff_max": 30,
    "max_retries": 8,
}

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
