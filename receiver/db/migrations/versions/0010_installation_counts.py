"""GET /stats/installations without reading the busy tables: `weekly_spans` (new and gone-quiet
installations per week, a summary recomputed for dirty weeks) and `summary_installations.last_period_end`
(active in the last 7 / 30 days, indexed). The copy and the totals of GET /stats/summary are emptied
and every rolled-up week marked dirty: the next refresh fills them again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "weekly_spans",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("first_week_installations", sa.Integer(), nullable=False),
        sa.Column("last_week_installations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week", name="pk_weekly_spans"),
    )
    op.execute("DELETE FROM summary_totals")
    op.execute("DELETE FROM summary_installations")
    with op.batch_alter_table("summary_installations") as table:
        table.add_column(sa.Column("last_period_end", sa.DateTime(timezone=True), nullable=False))
        table.create_index("ix_summary_installations_last_period_end", ["last_period_end"])
    op.execute(
        "INSERT INTO dirty_weeks (week) SELECT DISTINCT week FROM installation_weeks "
        "WHERE week NOT IN (SELECT week FROM dirty_weeks)"
    )


def downgrade() -> None:
    with op.batch_alter_table("summary_installations") as table:
        table.drop_index("ix_summary_installations_last_period_end")
        table.drop_column("last_period_end")
    op.drop_table("weekly_spans")
