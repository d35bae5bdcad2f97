"""pipelines: apps in stages following branches, review apps, promoted and uploaded builds,
app-scoped deploy tokens

Revision ID: 0006_pipelines
Revises: 0005_safe
Create Date: 2026-11-30 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_pipelines"
down_revision: str | None = "0005_safe"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("name", sa.String(length=30), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("review_apps", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("review_ttl_seconds", sa.Integer(), nullable=True),
        sa.Column("review_config_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_pipelines_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipelines")),
        sa.UniqueConstraint("name", name=op.f("uq_pipelines_name")),
    )
    op.create_index(op.f("ix_pipelines_owner_id"), "pipelines", ["owner_id"], unique=False)
    op.add_column("apps", sa.Column("pipeline_id", sa.BigInteger(), nullable=True))
    op.add_column("apps", sa.Column("stage", sa.String(length=20), nullable=True))
    op.add_column("apps", sa.Column("branch", sa.String(length=255), nullable=True))
    op.add_column(
        "apps", sa.Column("review_app", sa.Boolean(), server_default="false", nullable=False)
    )
    op.add_column("apps", sa.Column("last_deployed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(
        op.f("fk_apps_pipeline_id_pipelines"),
        "apps",
        "pipelines",
        ["pipeline_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_apps_pipeline_id"), "apps", ["pipeline_id"], unique=False)
    op.create_unique_constraint(op.f("uq_apps_pipeline_id"), "apps", ["pipeline_id", "branch"])
    op.add_column(
        "builds", sa.Column("origin", sa.String(length=20), server_default="push", nullable=False)
    )
    op.add_column("builds", sa.Column("promoted_from", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_builds_promoted_from_builds"),
        "builds",
        "builds",
        ["promoted_from"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column("api_tokens", sa.Column("app_id", sa.BigInteger(), nullable=True))
    op.add_column("api_tokens", sa.Column("scope", sa.String(length=20), nullable=True))
    op.add_column("api_tokens", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(
        op.f("fk_api_tokens_app_id_apps"),
        "api_tokens",
        "apps",
        ["app_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(op.f("ix_api_tokens_app_id"), "api_tokens", ["app_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_api_tokens_app_id"), table_name="api_tokens")
    op.drop_constraint(op.f("fk_api_tokens_app_id_apps"), "api_tokens", type_="foreignkey")
    op.drop_column("api_tokens", "expires_at")
    op.drop_column("api_tokens", "scope")
    op.drop_column("api_tokens", "app_id")
    op.drop_constraint(op.f("fk_builds_promoted_from_builds"), "builds", type_="foreignkey")
    op.drop_column("builds", "promoted_from")
    op.drop_column("builds", "origin")
    op.drop_constraint(op.f("uq_apps_pipeline_id"), "apps", type_="unique")
    op.drop_index(op.f("ix_apps_pipeline_id"), table_name="apps")
    op.drop_constraint(op.f("fk_apps_pipeline_id_pipelines"), "apps", type_="foreignkey")
    op.drop_column("apps", "last_deployed_at")
    op.drop_column("apps", "review_app")
    op.drop_column("apps", "branch")
    op.drop_column("apps", "stage")
    op.drop_column("apps", "pipeline_id")
    op.drop_index(op.f("ix_pipelines_owner_id"), table_name="pipelines")
    op.drop_table("pipelines")
