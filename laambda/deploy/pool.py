"""Bounded parallel work for deploys: many functions at once, never more than Lambda allows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from laambda.deploy.calls import error_message
from laambda.errors import DeployFailed

T = TypeVar("T")
R = TypeVar("R")


def run_all(
    pool: ThreadPoolExecutor,
    work: Callable[[T], R],
    items: Iterable[T],
    *,
    context: Callable[[T], str] | None = None,
) -> list[R]:
    """Run `work` on every item, results in item order.

    On the first failure what has not started is cancelled, what runs is let finish (a
    function must not be left mid-update), and the failure is raised as DeployFailed with
    AWS's message, prefixed with the item's name.
    """
    todo = list(items)
    futures: list[Future[R]] = [pool.submit(work, item) for item in todo]
    wait(futures, return_when=FIRST_EXCEPTION)
    if any(future.done() and future.exception() for future in futures):
        for future in futures:
            future.cancel()
    wait(futures)
    for item, future in zip(todo, futures, strict=True):
        if future.cancelled():
            continue
        exc = future.exception()
        if exc is None or isinstance(exc, DeployFailed):
            if exc is not None:
                raise exc
            continue
        where = f"{context(item)}: " if context else ""
        if isinstance(exc, ClientError):
            raise DeployFailed(f"{where}{error_message(exc)}") from exc
        if isinstance(exc, BotoCoreError):
            raise DeployFailed(f"{where}{exc}") from exc
        raise exc
    return [future.result() for future in futures]
