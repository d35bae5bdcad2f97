"""canary: per-app deploy strategy and releases in a canary (filled in by the canary work)

Revision ID: 0007_canary
Revises: 0006_pipelines
Create Date: 2026-11-30 10:31:00
"""

from collections.abc import Sequence

revision: str = "0007_canary"
down_revision: str | None = "0006_pipelines"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
