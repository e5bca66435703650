"""Rollups of the per-model breakdown (GET /stats/reliability) and of stored submissions per week
(GET /stats/anomalies): installation_week_models, weekly_model_firsts, weekly_model_usage,
weekly_model_errors, weekly_submissions (receiver/analytics/model_rollups.py). Every week that has a
submission is marked dirty, so the next refresh fills them. The totals of GET /stats/summary:
summary_installations and summary_totals (receiver/analytics/summary_totals.py), filled by the next
refresh (every installation is missing from the copy).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USAGE_SUMS = (
    "printer_weeks",
    "active_printer_weeks",
    "jobs_started",
    "jobs_completed",
    "jobs_failed",
    "jobs_cancelled",
    "jobs_ended_without_outcome",
    "print_centihours",
    "paused_centihours",
)


def upgrade() -> None:
    op.create_table(
        "installation_week_models",
        sa.Column("installation_id", sa.String(36), nullable=False),
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint(
            "installation_id", "family", "model", "week", name="pk_installation_week_models"
        ),
    )
    op.create_index("ix_installation_week_models_week", "installation_week_models", ["week"])
    op.create_table(
        "weekly_model_firsts",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("previous_week", sa.Date(), nullable=True),
        sa.Column("installations", sa.Integer(), nullable=False),
    )
    op.create_index("ix_weekly_model_firsts_week", "weekly_model_firsts", ["week"])
    op.create_table(
        "weekly_model_usage",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("installation_weeks", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _USAGE_SUMS),
        sa.Column("filament_cm", sa.BigInteger(), nullable=True),
        sa.Column("filament_reports", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week", "family", "model", name="pk_weekly_model_usage"),
    )
    op.create_table(
        "weekly_model_errors",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("week", "family", "model", "code", name="pk_weekly_model_errors"),
    )
    op.create_table(
        "weekly_submissions",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("submissions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week", name="pk_weekly_submissions"),
    )
    op.create_table(
        "summary_installations",
        sa.Column("installation_id", sa.String(36), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("schema_version", sa.String(8), nullable=False),
        sa.Column("deployment_mode", sa.String(64), nullable=False),
        sa.Column("data_source", sa.String(64), nullable=True),
        sa.Column("printer_count", sa.Integer(), nullable=False),
        sa.Column("printer_type_counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("installation_id", name="pk_summary_installations"),
    )
    op.create_table(
        "summary_totals",
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("installations", sa.BigInteger(), nullable=False),
        sa.Column("printers", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "key", name="pk_summary_totals"),
    )
    op.execute(
        "INSERT INTO dirty_weeks (week) SELECT DISTINCT week_start FROM submissions "
        "WHERE week_start NOT IN (SELECT week FROM dirty_weeks)"
    )


def downgrade() -> None:
    op.drop_index("ix_weekly_model_firsts_week", table_name="weekly_model_firsts")
    op.drop_index("ix_installation_week_models_week", table_name="installation_week_models")
    for table in (
        "summary_totals",
        "summary_installations",
        "weekly_submissions",
        "weekly_model_errors",
        "weekly_model_usage",
        "weekly_model_firsts",
        "installation_week_models",
    ):
        op.drop_table(table)
