"""PostgreSQL: `submissions` becomes a table partitioned by RANGE (week_start), one partition per
calendar month of `week_start` (`submissions_2026_11`) and a DEFAULT partition, so retention drops
whole months (receiver/db/partitions.py, receiver/retention.py).

A partitioned table's primary key and unique constraints must contain the partition key: the primary
key becomes (id, week_start) — the existing bigint id sequence still numbers the rows, ids are kept —
and the idempotency constraint (installation_id, period_start, period_end, week_start); week_start is
a function of period_end, so a period is still stored once. Every index of the old table is created
on the new one (partitioned indexes). The rows are copied in id order in batches, then the tables
are swapped; all of it in the migration's one transaction, with the old table locked against writes
(ingest waits, reads go on). SQLite keeps the plain table; only its unique constraint gains
week_start, so the ingest's `ON CONFLICT` is the same on both databases.

`submission_models` and `submission_model_errors` stay plain tables (see receiver/db/partitions.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 50_000
MONTHS_AHEAD = 3
PERIOD_COLUMNS = ["installation_id", "period_start", "period_end"]


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _month_of(day: date) -> date:
    return day.replace(day=1)


def _partition_name(month: date) -> str:
    """The same names as receiver/db/partitions.py creates later."""
    return f"submissions_{month:%Y_%m}"


def _scalar(sql: str, **params: object) -> object:
    return op.get_bind().execute(sa.text(sql), params).scalar()


def _indexes_to_copy(table: str) -> list[tuple[str, str]]:
    """(name, definition) of the table's indexes that no constraint owns."""
    rows = op.get_bind().execute(
        sa.text(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = CAST(:table AS regclass) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
            "ORDER BY i.relname"
        ),
        {"table": table},
    )
    return [(row[0], row[1]) for row in rows]


def _copy_indexes(source: str, target: str) -> list[tuple[str, str]]:
    """Create `source`'s indexes on `target` under temporary names; returns (temporary, final)."""
    renames = []
    for name, stored_definition in _indexes_to_copy(source):
        temporary = f"{name}_new"[:63]
        # a partitioned table's index reads `ON ONLY public.submissions`
        definition = stored_definition.replace(
            f" ON ONLY public.{source} ", f" ON public.{source} "
        )
        head, tail = definition.split(f" ON public.{source} USING ", 1)
        assert head.endswith(f" {name}"), definition
        head = head.removesuffix(name) + temporary
        op.execute(f"{head} ON public.{target} USING {tail}")
        renames.append((temporary, name))
    return renames


def _copy_rows(source: str, target: str) -> None:
    """In id order, BATCH ids per statement."""
    columns = ", ".join(
        f'"{row[0]}"'
        for row in op.get_bind().execute(
            sa.text(
                "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:table AS regclass) "
                "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
            ),
            {"table": source},
        )
    )
    last = _scalar(f"SELECT max(id) FROM {source}")  # noqa: S608 (a fixed table name)
    if last is None:
        return
    low = int(_scalar(f"SELECT min(id) FROM {source}")) - 1  # type: ignore[call-overload]  # noqa: S608
    while low < int(last):  # type: ignore[call-overload]
        op.execute(
            f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {source} "  # noqa: S608
            f"WHERE id > {low} AND id <= {low + BATCH} ORDER BY id"
        )
        low += BATCH


def _swap(old: str, new: str, renames: list[tuple[str, str]], constraints: dict[str, str]) -> None:
    sequence = _scalar("SELECT pg_get_serial_sequence(:table, 'id')", table=old)
    if sequence is not None:
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {new}.id")
    op.execute(f"DROP TABLE {old}")
    op.execute(f"ALTER TABLE {new} RENAME TO submissions")
    for temporary, final in constraints.items():
        op.execute(f"ALTER TABLE submissions RENAME CONSTRAINT {temporary} TO {final}")
    for temporary, final in renames:
        op.execute(f"ALTER INDEX {temporary} RENAME TO {final}")
    op.execute("ANALYZE submissions")


def _months_to_create() -> list[date]:
    """Every month from the oldest stored week to MONTHS_AHEAD months after this one."""
    this_month = _month_of(datetime.now(UTC).date())
    oldest = _scalar("SELECT min(week_start) FROM submissions")
    newest = _scalar("SELECT max(week_start) FROM submissions")
    first = _month_of(oldest) if isinstance(oldest, date) else this_month
    last = this_month
    for _ in range(MONTHS_AHEAD):
        last = _next_month(last)
    if isinstance(newest, date):
        last = max(last, _month_of(newest))
    months = [min(first, this_month)]
    while months[-1] < last:
        months.append(_next_month(months[-1]))
    return months


def _partition_postgres() -> None:
    op.execute("LOCK TABLE submissions IN EXCLUSIVE MODE")
    op.execute(
        "CREATE TABLE submissions_partitioned (LIKE submissions INCLUDING DEFAULTS) "
        "PARTITION BY RANGE (week_start)"
    )
    op.execute(
        "ALTER TABLE submissions_partitioned "
        "ADD CONSTRAINT pk_submissions_partitioned PRIMARY KEY (id, week_start), "
        "ADD CONSTRAINT uq_submissions_partitioned_period "
        "UNIQUE (installation_id, period_start, period_end, week_start)"
    )
    renames = _copy_indexes("submissions", "submissions_partitioned")
    for month in _months_to_create():
        op.execute(
            f"CREATE TABLE {_partition_name(month)} PARTITION OF submissions_partitioned "
            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{_next_month(month).isoformat()}')"
        )
    op.execute("CREATE TABLE submissions_default PARTITION OF submissions_partitioned DEFAULT")
    _copy_rows("submissions", "submissions_partitioned")
    _swap(
        "submissions",
        "submissions_partitioned",
        renames,
        {
            "pk_submissions_partitioned": "pk_submissions",
            "uq_submissions_partitioned_period": "uq_submissions_period",
        },
    )


def _unpartition_postgres() -> None:
    op.execute("LOCK TABLE submissions IN EXCLUSIVE MODE")
    op.execute("CREATE TABLE submissions_plain (LIKE submissions INCLUDING DEFAULTS)")
    op.execute(
        "ALTER TABLE submissions_plain ADD CONSTRAINT pk_submissions_plain PRIMARY KEY (id), "
        "ADD CONSTRAINT uq_submissions_plain_period "
        "UNIQUE (installation_id, period_start, period_end)"
    )
    renames = _copy_indexes("submissions", "submissions_plain")
    _copy_rows("submissions", "submissions_plain")
    _swap(
        "submissions",
        "submissions_plain",
        renames,
        {
            "pk_submissions_plain": "pk_submissions",
            "uq_submissions_plain_period": "uq_submissions_period",
        },
    )


def _set_sqlite_period_constraint(columns: list[str]) -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_constraint("uq_submissions_period", type_="unique")
        batch.create_unique_constraint("uq_submissions_period", columns)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _partition_postgres()
    else:
        _set_sqlite_period_constraint([*PERIOD_COLUMNS, "week_start"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _unpartition_postgres()
    else:
        _set_sqlite_period_constraint(PERIOD_COLUMNS)
