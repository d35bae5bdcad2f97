"""PostgreSQL advisory locks: held by a connection, so they never outlive a dead process.

One release is applied at a time per app, one worker runs a build, one push per app: each
takes a lock keyed by (kind, id) on a connection of its own, outside any transaction.

A process waiting for a lock says so (unless told not to): while it waits, its connection
holds a shared lock keyed (WAITING + kind, id), which `waiting()` finds in pg_locks. The
holder of a lock doing work that can stop anywhere (pruning old versions) asks `waiting()`
between steps and gives way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum

from sqlalchemy import Connection, Engine, text


class LockKind(IntEnum):
    APPLY = 1  # applying a release of app <id>
    BUILD = 2  # running build <id>
    PUSH = 3  # a push to app <id>
    PIPELINE_PUSH = 4  # a push to the repository of pipeline <id>


# added to a kind: the key of the shared lock a process waiting for (kind, id) holds
WAITING = 100


class LockTimeout(Exception):
    pass


def _unlock_waiting(connection: Connection, kind: LockKind, key: int) -> None:
    connection.execute(
        text("SELECT pg_advisory_unlock_shared(:kind, :key)"),
        {"kind": WAITING + int(kind), "key": key},
    )


@contextmanager
def advisory_lock(
    engine: Engine,
    kind: LockKind,
    key: int,
    *,
    timeout: float | None = None,
    on_wait: Callable[[], None] | None = None,
    poll: float = 0.2,
    announce: bool = True,
) -> Iterator[None]:
    """Hold the lock for the block; wait up to `timeout` seconds (forever when None).

    `on_wait` is called once when the lock is first found taken (to tell someone why).
    `announce`: while waiting, let the holder see it (`waiting()`); False for work that
    should not make the holder give way (pruning waiting for pruning, a benchmark's wait).
    Raises LockTimeout when `timeout` passes first.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        deadline = None if timeout is None else time.monotonic() + timeout
        told = False
        announced = False
        try:
            while not connection.scalar(
                text("SELECT pg_try_advisory_lock(:kind, :key)"), {"kind": int(kind), "key": key}
            ):
                if announce and not announced:
                    connection.execute(
                        text("SELECT pg_advisory_lock_shared(:kind, :key)"),
                        {"kind": WAITING + int(kind), "key": key},
                    )
                    announced = True
                if on_wait is not None and not told:
                    on_wait()
                    told = True
                if deadline is not None and time.monotonic() >= deadline:
                    raise LockTimeout(f"lock {kind.name.lower()} {key} is held by another process")
                time.sleep(poll)
        finally:
            if announced:
                _unlock_waiting(connection, kind, key)
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


def waiting(engine: Engine, kind: LockKind, key: int) -> bool:
    """Whether some process is waiting in `advisory_lock` for lock (kind, key), announced.

    Reads pg_locks (this database's advisory locks; a two-integer key shows as classid,
    objid with objsubid 2), so it takes no lock and never blocks a waiter.
    """
    with engine.connect() as connection:
        return bool(
            connection.scalar(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                    " AND classid = CAST(:kind AS oid) AND objid = CAST(:key AS oid)"
                    " AND objsubid = 2 AND granted)"
                ),
                {"kind": WAITING + int(kind), "key": key},
            )
        )
