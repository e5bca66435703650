"""The ISO week each stored window is attributed to: submissions.week_start.

`week_start` is the Monday (00:00 UTC) of the ISO week holding the window's last instant
(`period_end` is exclusive, so a whole Monday-to-Monday week counts for the week it covers, and a
schema-1.0 rolling window ending on a Wednesday counts for that Wednesday's week). Analytics count an
installation at most once per week through it and never add up overlapping 1.0 windows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL_BATCH = 5000


def _attributed_week(period_end: datetime) -> date:
    # inlined (not imported from the receiver) so this migration never changes after release
    end = period_end if period_end.tzinfo is None else period_end.astimezone(UTC)
    last_day = (end - timedelta(microseconds=1)).date()
    return last_day - timedelta(days=last_day.weekday())


def _backfill_sqlite(connection: sa.Connection) -> None:
    submissions = sa.table(
        "submissions",
        sa.column("id", sa.Integer()),
        sa.column("period_end", sa.DateTime(timezone=True)),
        sa.column("week_start", sa.Date()),
    )
    rows = connection.execute(sa.select(submissions.c.id, submissions.c.period_end)).all()
    update = (
        sa.update(submissions)
        .where(submissions.c.id == sa.bindparam("row_id"))
        .values(week_start=sa.bindparam("week"))
    )
    for first in range(0, len(rows), _BACKFILL_BATCH):
        batch = rows[first : first + _BACKFILL_BATCH]
        connection.execute(
            update, [{"row_id": row.id, "week": _attributed_week(row.period_end)} for row in batch]
        )


def upgrade() -> None:
    op.add_column("submissions", sa.Column("week_start", sa.Date(), nullable=True))
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.execute(
            "UPDATE submissions SET week_start = "
            "date_trunc('week', (period_end - interval '1 microsecond') AT TIME ZONE 'UTC')::date"
        )
    else:
        _backfill_sqlite(connection)
    with op.batch_alter_table("submissions") as batch:
        batch.alter_column("week_start", existing_type=sa.Date(), nullable=False)
    op.create_index(
        "ix_submissions_week_start_installation", "submissions", ["week_start", "installation_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_submissions_week_start_installation", table_name="submissions")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("week_start")
