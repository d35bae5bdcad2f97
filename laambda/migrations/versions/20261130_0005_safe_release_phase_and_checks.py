"""safe: releases say whether their release phase runs; smoke checks per function

Revision ID: 0005_safe
Revises: 0004_superseded
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_safe"
down_revision: str | None = "0004_superseded"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "releases",
        sa.Column("release_phase", sa.Boolean(), server_default="true", nullable=False),
    )
    op.create_table(
        "function_checks",
        sa.Column("app_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("event", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("expect_status", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_function_checks_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("app_id", "name", name=op.f("pk_function_checks")),
    )


def downgrade() -> None:
    op.drop_table("function_checks")
    op.drop_column("releases", "release_phase")
