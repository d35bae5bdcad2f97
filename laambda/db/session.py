"""Engines and sessions. One session per API request or task; services flush, callers commit.

A process forked from one that used an engine (a Celery pool child) must call
`forget_connections_after_fork` before its first query: the pooled connections it inherited
are its parent's sockets, and two processes talking on one PostgreSQL connection corrupt
its state (psycopg's DuplicatePreparedStatement).

Work that must only happen once the data is committed (handing a release to the worker) is
registered with `after_commit` and dropped if the transaction rolls back, so a worker never
sees a row that is not there yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

_CALLBACKS = "laambda_after_commit"


_engines: dict[str, Engine] = {}
# PostgreSQL drops the session of a peer that stopped answering after 10 + 3 x 5 s instead of
# the kernel's two hours, so the advisory locks of a worker whose host died are released within
# a minute and the recovery sweep finds its release (DESIGN.md). Settable per session by any
# user; ignored on Unix-domain sockets, where a dead peer is seen at once anyway.
KEEPALIVES = "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"


def get_engine(url: str) -> Engine:
    """One engine (and connection pool) per database URL for the whole process."""
    engine = _engines.get(url)
    if engine is None:
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=20,
            connect_args={"options": KEEPALIVES},
        )
        engine = _engines.setdefault(url, engine)
    return engine


def forget_connections_after_fork() -> None:
    """In a freshly forked process: drop every engine's inherited connections without
    closing them, since they are the parent's (SQLAlchemy, "Using Connection Pools with
    Multiprocessing or os.fork()"). The engines open new connections on next use."""
    for engine in list(_engines.values()):
        engine.dispose(close=False)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: committed when the block ends, rolled back when it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction commits; forget it on rollback."""
    session.info.setdefault(_CALLBACKS, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(_CALLBACKS, [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(_CALLBACKS, None)
