"""build commit label: the commit an upload named that could not be verified

Revision ID: 0010_build_commit_label
Revises: 0009_session_token
Create Date: 2026-12-01 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_build_commit_label"
down_revision: str | None = "0009_session_token"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("builds", sa.Column("commit_label", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("builds", "commit_label")
