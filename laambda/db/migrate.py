"""Run Alembic from code: `laambda migrate`, `laambda up` and the tests use the same migrations.

The migrations ship inside the package (`laambda/migrations`), so an installed wheel migrates
without a checkout and without an `alembic.ini`: the configuration is made here. The root
`alembic.ini` only serves developers' `alembic revision` in a checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(str(files("laambda") / "migrations"))


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for the package's migrations against `database_url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def revision(database_url: str) -> str | None:
    """The revision the database at `database_url` is at; None when it has none (empty).
    Raises sqlalchemy's OperationalError when the database does not answer."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(database_url: str) -> None:
    """Bring the database at `database_url` to the newest revision."""
    command.upgrade(alembic_config(database_url), "head")


def downgrade(database_url: str) -> None:
    """Remove every table the migrations made (down to the empty base)."""
    command.downgrade(alembic_config(database_url), "base")
