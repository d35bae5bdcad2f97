"""PostgreSQL for tests: one fresh database per test session, migrated with Alembic, dropped after.

Most tests run inside an outer transaction that is rolled back (each request's commit only
releases a savepoint). Tests that need real commits from several connections (concurrency,
a uvicorn server, a worker) use `committed_sessions` and the tables are emptied afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from laambda.db import migrate
from laambda.db.base import Model
from tests.support import factories

ADMIN_URL = os.environ.get(
    "LAAMBDA_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def empty_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database beside ADMIN_URL's (named `<prefix>_<random hex>`);
    yields its URL and drops it (closing whatever is still connected) on the way out."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with empty_database("laambda_test") as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url, pool_size=30, max_overflow=10)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def sessions(connection: Connection) -> sessionmaker[Session]:
    """Sessions that join the test's outer transaction: their commits are savepoints."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> Iterator[Session]:
    session = sessions()
    factories.bind(session)
    yield session
    session.close()


@pytest.fixture
def committed_sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions whose commits are real; every table is emptied after the test."""
    yield sessionmaker(bind=engine, expire_on_commit=False)
    tables = ", ".join(f'"{t.name}"' for t in Model.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
