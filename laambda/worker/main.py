"""`laambda worker`: a Celery worker that builds and applies releases.

At start, and every minute after, it marks builds and releases whose worker died abandoned.
"""

from __future__ import annotations

import logging
import threading

from celery.signals import worker_ready

from laambda.config import get_settings
from laambda.worker.celery_app import configure
from laambda.worker.context import get_context
from laambda.worker.sweep import sweep_abandoned

log = logging.getLogger("laambda.worker")


def _sweep_forever(stop: threading.Event) -> None:
    while True:
        try:
            builds, releases = sweep_abandoned(get_context())
            if builds or releases:
                log.warning("marked %d builds and %d releases abandoned", builds, releases)
        except Exception:  # the sweep must never take the worker down
            log.exception("sweeping abandoned builds failed")
        if stop.wait(get_settings().sweep_interval):
            return


@worker_ready.connect
def _start_sweeper(**_: object) -> None:
    threading.Thread(target=_sweep_forever, args=(threading.Event(),), daemon=True).start()


def run_worker(concurrency: int = 2, loglevel: str = "INFO") -> None:
    app = configure(get_settings())
    app.worker_main(
        [
            "worker",
            f"--loglevel={loglevel}",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


if __name__ == "__main__":
    run_worker()
