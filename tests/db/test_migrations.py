"""The migrations create exactly what the models describe, and remove it again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from laambda.db import migrate
from laambda.db.base import Model
from tests.support.database import empty_database


@pytest.fixture(name="empty_database")
def _empty_database() -> Iterator[str]:
    with empty_database("laambda_mig") as url:
        yield url


def test_upgrade_matches_models_and_downgrade_removes_everything(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    engine = create_engine(empty_database)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Model.metadata) == []
        tables = set(inspect(connection).get_table_names())
    assert set(Model.metadata.tables) <= tables
    migrate.downgrade(empty_database)
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) == {"alembic_version"}
    engine.dispose()
