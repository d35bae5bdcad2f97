"""`laambda worker`: a Celery worker that builds and applies releases.

Its main process runs the recovery sweep (worker/sweep.py): at start and every
`recovery_interval` seconds it sends again the releases whose worker died, and every
`sweep_interval` seconds the builds whose worker died, the build volumes they left in the
engine (the Docker builder with engine volumes) and the review apps whose TTL passed.
Each pool child forgets the connections it inherited from the main process before its first
task.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time

from botocore.exceptions import BotoCoreError, ClientError
from celery.signals import worker_process_init, worker_ready

from laambda.config import get_settings
from laambda.fleet import announce_forever
from laambda.worker.celery_app import configure
from laambda.worker.context import forget_context_after_fork, get_context
from laambda.worker.enqueue import CeleryQueue
from laambda.worker.event_sources import forget_clients
from laambda.worker.sweep import Sweeper

log = logging.getLogger("laambda.worker")


def _sweep_forever(stop: threading.Event) -> None:
    settings = get_settings()
    sweeper: Sweeper | None = None
    builds_due = 0.0
    aws_failure: str | None = None  # what AWS last said when a sweep failed on it
    while True:
        try:
            sweeper = sweeper or Sweeper(get_context(), CeleryQueue(settings))
            sent = sweeper.recover_releases()
            if sent:
                log.warning("applying again releases whose worker died: %s", sent)
            if time.monotonic() >= builds_due:
                builds_due = time.monotonic() + settings.sweep_interval
                rebuilt, abandoned = sweeper.recover_builds()
                if rebuilt or abandoned:
                    log.warning(
                        "builds whose worker died: %s sent again, %d abandoned", rebuilt, abandoned
                    )
                if volumes := sweeper.remove_build_leftovers():
                    log.warning("build volumes of workers that died, removed: %s", volumes)
                if expired := sweeper.expire_review_apps():
                    log.warning("review apps whose TTL passed, destroyed: %s", expired)
        except (BotoCoreError, ClientError) as exc:  # one line, again only when it changes
            if str(exc) != aws_failure:
                aws_failure = str(exc)
                log.error(
                    "sweeping for the work of dead workers failed on AWS: %s; check "
                    "the AWS credentials and region of this host, or LAAMBDA_AWS_ENDPOINT_URL",
                    aws_failure,
                )
        except Exception:  # the sweep must never take the worker down
            log.exception("sweeping for the work of dead workers failed")
        else:
            aws_failure = None
        if stop.wait(min(settings.recovery_interval, settings.sweep_interval)):
            return


@worker_ready.connect
def _start_sweeper(**_: object) -> None:
    threading.Thread(target=_sweep_forever, args=(threading.Event(),), daemon=True).start()
    # /health lists the worker hosts seen recently (laambda/fleet.py)
    threading.Thread(
        target=announce_forever, args=(get_settings(), threading.Event()), daemon=True
    ).start()


@worker_process_init.connect
def forget_parent_connections(**_: object) -> None:
    """In a new pool child, before its first task: its own database, Redis and AWS clients."""
    forget_context_after_fork()
    forget_clients()


def run_worker(concurrency: int = 2, loglevel: str = "INFO") -> None:
    """Run a Celery worker of the environment's settings in this process, `concurrency` pool
    processes (prefork), until it is stopped (SIGTERM: warm shutdown); exits with its status.
    Made as `celery worker` makes it (celery/bin/worker.py: app.Worker, then start), without
    importing Celery's command line, a third of a second of every worker's start."""
    app = configure(get_settings())
    worker = app.Worker(
        loglevel=loglevel,
        concurrency=concurrency,
        pool_cls="prefork",
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    # What the imports made lives as long as the process: out of the collector's reach, Celery's
    # collection before it forks each pool child (asynpool, Celery issue 2927) skips it (40 ms
    # each), and so do the children's, which would otherwise write to every inherited object's
    # header, copying the pages the fork shares (Python's gc.freeze documentation)
    gc.freeze()
    worker.start()
    sys.exit(worker.exitcode)


if __name__ == "__main__":
    run_worker()
