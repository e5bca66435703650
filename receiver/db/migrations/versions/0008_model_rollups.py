"""Rollups of the per-model breakdown (GET /stats/reliability) and of stored submissions per week
(GET /stats/anomalies): installation_week_models, weekly_model_firsts, weekly_model_usage,
weekly_model_errors, weekly_submissions (receiver/analytics/model_rollups.py). Every week that has a
submission is marked dirty, so the next refresh fills them.

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
    op.execute(
        "INSERT INTO dirty_weeks (week) SELECT DISTINCT week_start FROM submissions "
        "WHERE week_start NOT IN (SELECT week FROM dirty_weeks)"
    )


def downgrade() -> None:
    op.drop_index("ix_weekly_model_firsts_week", table_name="weekly_model_firsts")
    op.drop_index("ix_installation_week_models_week", table_name="installation_week_models")
    for table in (
        "weekly_submissions",
        "weekly_model_errors",
        "weekly_model_usage",
        "weekly_model_firsts",
        "installation_week_models",
    ):
        op.drop_table(table)
