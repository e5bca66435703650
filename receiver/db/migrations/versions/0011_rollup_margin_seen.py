"""The rollup refresh remembers which submissions of its margin it already rolled up
(`rollup_margin_seen`), so re-reading the margin for late commits no longer marks every week and
moves every installation of the last two minutes again at each refresh.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_margin_seen",
        sa.Column(
            "submission_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("submission_id", "received_at", name="pk_rollup_margin_seen"),
    )


def downgrade() -> None:
    op.drop_table("rollup_margin_seen")
