"""web sessions record the API token that opened them, and end with it

Sessions and sign-in links made before this revision recorded no token, so nothing could
end them when their token is revoked: they are ended here (their users sign in again).

Revision ID: 0009_session_token
Revises: 0008_fixcanary
Create Date: 2026-12-01 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_session_token"
down_revision: str | None = "0008_fixcanary"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM web_sessions")
    op.add_column("web_sessions", sa.Column("api_token_id", sa.BigInteger(), nullable=False))
    op.create_foreign_key(
        op.f("fk_web_sessions_api_token_id_api_tokens"),
        "web_sessions",
        "api_tokens",
        ["api_token_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(
        op.f("ix_web_sessions_api_token_id"), "web_sessions", ["api_token_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_web_sessions_api_token_id"), table_name="web_sessions")
    op.drop_constraint(
        op.f("fk_web_sessions_api_token_id_api_tokens"), "web_sessions", type_="foreignkey"
    )
    op.drop_column("web_sessions", "api_token_id")
