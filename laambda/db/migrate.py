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

MIGRATIONS = Path(str(files("laambda") / "migrations"))


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for the package's migrations against `database_url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    """Bring the database at `database_url` to the newest revision."""
    command.upgrade(alembic_config(database_url), "head")


def downgrade(database_url: str) -> None:
    """Remove every table the migrations made (down to the empty base)."""
    command.downgrade(alembic_config(database_url), "base")
