"""PostgreSQL advisory locks: held by a connection, so they never outlive a dead process.

One release is applied at a time per app, one worker runs a build, one push per app: each
takes a lock keyed by (kind, id) on a connection of its own, outside any transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum

from sqlalchemy import Engine, text


class LockKind(IntEnum):
    APPLY = 1  # applying a release of app <id>
    BUILD = 2  # running build <id>
    PUSH = 3  # a push to app <id>
    PIPELINE_PUSH = 4  # a push to the repository of pipeline <id>


class LockTimeout(Exception):
    pass


@contextmanager
def advisory_lock(
    engine: Engine,
    kind: LockKind,
    key: int,
    *,
    timeout: float | None = None,
    on_wait: Callable[[], None] | None = None,
    poll: float = 0.2,
) -> Iterator[None]:
    """Hold the lock for the block; wait up to `timeout` seconds (forever when None).

    `on_wait` is called once when the lock is first found taken (to tell someone why).
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        deadline = None if timeout is None else time.monotonic() + timeout
        told = False
        while not connection.scalar(
            text("SELECT pg_try_advisory_lock(:kind, :key)"), {"kind": int(kind), "key": key}
        ):
            if on_wait is not None and not told:
                on_wait()
                told = True
            if deadline is not None and time.monotonic() >= deadline:
                raise LockTimeout(f"lock {kind.name.lower()} {key} is held by another process")
            time.sleep(poll)
        try:
            yield
        finally:
            connection.execute(
                text("SELECT pg_advisory_unlock(:kind, :key)"), {"kind": int(kind), "key": key}
            )


def is_locked(engine: Engine, kind: LockKind, key: int) -> bool:
    """Whether some live connection holds the lock (a dead process's lock is released)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        taken = connection.scalar(
            text("SELECT pg_try_advisory_lock(:kind, :key)"), {"kind": int(kind), "key": key}
        )
        if taken:
            connection.execute(
                text("SELECT pg_advisory_unlock(:kind, :key)"), {"kind": int(kind), "key": key}
            )
        return not taken
