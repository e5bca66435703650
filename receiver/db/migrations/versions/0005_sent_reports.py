"""The log of e-mail reports sent by the schedule (one row per report: sent once across workers).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sent_reports",
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kind", "label", name="pk_sent_reports"),
    )


def downgrade() -> None:
    op.drop_table("sent_reports")
