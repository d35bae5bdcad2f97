"""Sending work to the worker. Only ids travel; tasks are sent by name so the sender does not
import the tasks (the API process needs neither boto3 nor the build code)."""

from __future__ import annotations

from laambda.config import Settings
from laambda.worker.celery_app import configure


class CeleryQueue:
    """The release applier (services/applier.py) and the build queue, over Celery."""

    def __init__(self, settings: Settings) -> None:
        self.app = configure(settings)
        # named on every send: the app's default queue is whatever was configured last
        self.queue = settings.queue

    def apply(self, release_id: int) -> None:
        self.app.send_task("release.apply", args=[release_id], queue=self.queue)

    def build(self, build_id: int) -> None:
        self.app.send_task("build.run", args=[build_id], queue=self.queue)
