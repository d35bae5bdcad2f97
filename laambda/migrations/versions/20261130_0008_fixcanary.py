"""fixcanary: the errors (and throttles) a running canary has seen so far

Revision ID: 0008_fixcanary
Revises: 0007_canary
Create Date: 2026-11-30 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_fixcanary"
down_revision: str | None = "0007_canary"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("releases", sa.Column("canary_errors", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("releases", "canary_errors")
