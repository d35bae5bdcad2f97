"""A pool child never talks to PostgreSQL on a connection it inherited from the main process
(two processes on one connection corrupt it: psycopg's DuplicatePreparedStatement)."""

from __future__ import annotations

import os
import warnings

from sqlalchemy import text

from laambda.db.session import get_engine
from laambda.worker.main import forget_parent_connections


def _backend(url: str) -> int:
    with get_engine(url).connect() as connection:
        for _ in range(6):  # past psycopg's prepare threshold: the statement is prepared
            connection.execute(text("SELECT pg_backend_pid()"))
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_pool_child_opens_its_own_connections(database_url: str) -> None:
    parent = _backend(database_url)  # the main process's pool now holds this connection
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads: we know
        pid = os.fork()
    if pid == 0:  # the child does what Celery's worker_process_init makes it do
        try:
            forget_parent_connections()
            os.write(write, str(_backend(database_url)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        child = answer.read()
    os.waitpid(pid, 0)

    assert child, "the child could not query the database"
    assert int(child) != parent
    # and the main process's pool still works (it may hand out another of its connections)
    assert _backend(database_url) > 0


def test_a_dead_hosts_locks_are_released_within_a_minute(database_url: str) -> None:
    """The server gives up on a silent peer after idle + count x interval seconds."""
    with get_engine(database_url).connect() as connection:
        idle, interval, count = (
            int(connection.execute(text(f"SHOW tcp_keepalives_{name}")).scalar_one())
            for name in ("idle", "interval", "count")
        )
    assert min(idle, interval, count) > 0  # 0 is the kernel's default: two hours
    assert idle + count * interval < 60
