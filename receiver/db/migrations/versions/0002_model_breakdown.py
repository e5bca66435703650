"""Schema 1.1 additions: per-model breakdown tables and the new usage_stats columns.

Revision ID: 0002
Revises: 0001_initial
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW_SUBMISSION_COLUMNS = (
    ("jobs_ended_without_outcome", sa.Integer()),
    ("paused_hours", sa.Float()),
    ("filament_m", sa.Float()),
    ("active_printers", sa.Integer()),
)


def _submission_id() -> sa.Column[int]:
    # No foreign key: its per-row check cost the PostgreSQL ingest ~0.1 ms per submission; every path
    # that deletes submissions (replace, GDPR deletion, purge) deletes these rows itself.
    return sa.Column(
        "submission_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
    )


def upgrade() -> None:
    for name, type_ in _NEW_SUBMISSION_COLUMNS:
        op.add_column("submissions", sa.Column(name, type_, nullable=True))
    op.create_table(
        "submission_models",
        _submission_id(),
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("printers", sa.Integer(), nullable=False),
        sa.Column("active_printers", sa.Integer(), nullable=False),
        sa.Column("jobs_started", sa.Integer(), nullable=False),
        sa.Column("jobs_completed", sa.Integer(), nullable=False),
        sa.Column("jobs_failed", sa.Integer(), nullable=False),
        sa.Column("jobs_cancelled", sa.Integer(), nullable=False),
        sa.Column("jobs_ended_without_outcome", sa.Integer(), nullable=False),
        sa.Column("print_centihours", sa.Integer(), nullable=False),
        sa.Column("paused_centihours", sa.Integer(), nullable=False),
        sa.Column("filament_cm", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("submission_id", "family", "model", name="pk_submission_models"),
    )
    op.create_index("ix_submission_models_week", "submission_models", ["week"])
    op.create_table(
        "submission_model_errors",
        _submission_id(),
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "submission_id", "family", "model", "code", name="pk_submission_model_errors"
        ),
    )
    op.create_index("ix_submission_model_errors_week", "submission_model_errors", ["week"])


def downgrade() -> None:
    op.drop_index("ix_submission_model_errors_week", table_name="submission_model_errors")
    op.drop_table("submission_model_errors")
    op.drop_index("ix_submission_models_week", table_name="submission_models")
    op.drop_table("submission_models")
    with op.batch_alter_table("submissions") as batch:
        for name, _ in reversed(_NEW_SUBMISSION_COLUMNS):
            batch.drop_column(name)
