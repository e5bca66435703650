"""The refresh of the analytics rollups pages through submissions in (received_at, id) order: index
both, so each page starts where the last ended (a row-value comparison) instead of re-reading the rows
that share a received_at.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_submissions_received_at_id", "submissions", ["received_at", "id"])
    op.drop_index("ix_submissions_received_at", table_name="submissions")


def downgrade() -> None:
    op.create_index("ix_submissions_received_at", "submissions", ["received_at"])
    op.drop_index("ix_submissions_received_at_id", table_name="submissions")
