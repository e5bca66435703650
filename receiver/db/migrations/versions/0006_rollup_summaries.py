"""Summaries of the analytics rollups: weekly_counts, window_counts, weekly_jobs, weekly_model_jobs,
the dirty_weeks and stale_windows to recompute, and the window_latest scratch table. Every week already rolled up is
marked dirty, so the next refresh fills the summaries.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JOB_SUMS = (
    "started",
    "completed",
    "failed",
    "cancelled",
    "ended_without_outcome",
    "print_centihours",
    "paused_centihours",
    "filament_cm",
    "filament_reports",
)


def _summary_key(first: str) -> list[sa.Column[Any]]:
    return [
        sa.Column(first, sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("key1", sa.String(64), nullable=False),
        sa.Column("key2", sa.String(64), nullable=False),
    ]


def _job_sums() -> list[sa.Column[Any]]:
    return [sa.Column(name, sa.BigInteger(), nullable=True) for name in _JOB_SUMS]


def upgrade() -> None:
    op.create_table(
        "weekly_counts",
        *_summary_key("week"),
        sa.Column("installations", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("completed", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.Column("cancelled", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("week", "dimension", "key1", "key2", name="pk_weekly_counts"),
    )
    op.create_table(
        "window_counts",
        *_summary_key("until_week"),
        sa.Column("installations", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("until_week", "dimension", "key1", "key2", name="pk_window_counts"),
    )
    op.create_table(
        "weekly_jobs",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        *_job_sums(),
        sa.Column("legacy_job_count", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("week", name="pk_weekly_jobs"),
    )
    op.create_table(
        "weekly_model_jobs",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("installation_weeks", sa.Integer(), nullable=False),
        *_job_sums(),
        sa.PrimaryKeyConstraint("week", "family", "model", name="pk_weekly_model_jobs"),
    )
    op.create_table(
        "dirty_weeks",
        sa.Column("week", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("week", name="pk_dirty_weeks"),
    )
    op.create_table(
        "stale_windows",
        sa.Column("until_week", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("until_week", name="pk_stale_windows"),
    )
    op.create_table(
        "window_latest",
        sa.Column("installation_id", sa.String(36), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("installation_id", name="pk_window_latest"),
    )
    op.execute("INSERT INTO dirty_weeks (week) SELECT DISTINCT week FROM installation_weeks")


def downgrade() -> None:
    for table in (
        "window_latest",
        "stale_windows",
        "dirty_weeks",
        "weekly_model_jobs",
        "weekly_jobs",
        "window_counts",
        "weekly_counts",
    ):
        op.drop_table(table)
