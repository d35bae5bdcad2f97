"""canary: per-app deploy strategy and releases in a canary

Revision ID: 0007_canary
Revises: 0006_pipelines
Create Date: 2026-11-30 10:31:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_canary"
down_revision: str | None = "0006_pipelines"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RELEASE_COLUMNS = (
    "canary_percent",
    "canary_max_errors",
    "canary_started_at",
    "canary_ends_at",
    "canary_versions",
    "canary_previous",
    "canary_decision",
    "canary_reason",
)


def upgrade() -> None:
    op.add_column(
        "apps",
        sa.Column(
            "deploy_strategy", sa.String(length=20), server_default="all-at-once", nullable=False
        ),
    )
    op.add_column("apps", sa.Column("canary_percent", sa.Integer(), nullable=True))
    op.add_column("apps", sa.Column("canary_seconds", sa.Integer(), nullable=True))
    op.add_column("apps", sa.Column("canary_max_errors", sa.Integer(), nullable=True))
    op.add_column("releases", sa.Column("canary_percent", sa.Integer(), nullable=True))
    op.add_column("releases", sa.Column("canary_max_errors", sa.Integer(), nullable=True))
    op.add_column(
        "releases", sa.Column("canary_started_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "releases", sa.Column("canary_ends_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "releases",
        sa.Column("canary_versions", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "releases",
        sa.Column("canary_previous", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("releases", sa.Column("canary_decision", sa.String(length=20), nullable=True))
    op.add_column("releases", sa.Column("canary_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    for column in reversed(_RELEASE_COLUMNS):
        op.drop_column("releases", column)
    for column in ("canary_max_errors", "canary_seconds", "canary_percent", "deploy_strategy"):
        op.drop_column("apps", column)
