"""Initial tables: submissions, installations (latest state + secret hash), rate_limits.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("installation_id", sa.String(36), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("schema_version", sa.String(8), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("deployment_mode", sa.String(64), nullable=False),
        sa.Column("data_source", sa.String(64), nullable=True),
        sa.Column("printer_count", sa.Integer(), nullable=False),
        sa.Column("job_count", sa.Integer(), nullable=False),
        sa.Column("aggregate", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_submissions"),
        sa.UniqueConstraint(
            "installation_id", "period_start", "period_end", name="uq_submissions_period"
        ),
    )
    op.create_index("ix_submissions_period_end", "submissions", ["period_end"])
    op.create_table(
        "installations",
        sa.Column("installation_id", sa.String(36), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=True),
        sa.Column("first_received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("schema_version", sa.String(8), nullable=False),
        sa.Column("app_version", sa.String(64), nullable=False),
        sa.Column("integration_version", sa.String(64), nullable=True),
        sa.Column("ha_version", sa.String(64), nullable=True),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("deployment_mode", sa.String(64), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("data_source", sa.String(64), nullable=True),
        sa.Column("printer_count", sa.Integer(), nullable=False),
        sa.Column("printer_type_counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("installation_id", name="pk_installations"),
    )
    op.create_table(
        "rate_limits",
        sa.Column("installation_id", sa.String(36), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("installation_id", name="pk_rate_limits"),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
    op.drop_table("installations")
    op.drop_index("ix_submissions_period_end", table_name="submissions")
    op.drop_table("submissions")
