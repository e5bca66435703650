"""PostgreSQL: the monthly partitions of `submissions` (migration 0009).

`submissions` is partitioned by RANGE (week_start): `submissions_2026_11` holds the weeks whose Monday
lies in November 2026, `submissions_default` every week without a partition of its own (correct, but
it should stay nearly empty). Invariant kept here: a month that has rows in the default partition gets
its own partition (the rows move into it), and the current month and the next MONTHS_AHEAD have one
before weeks arrive for them. `ensure_partitions` runs at every receiver's start, in `purge` and after
`demo-data`; all of it under one advisory lock, so concurrent starts do not race.

`submission_models` and `submission_model_errors` are not partitioned: their key is the submission id
(no week in it, and their `week` is the week of the period's middle, not `week_start`), so retention
deletes their rows by submission id before it drops a month of submissions.

SQLite keeps one plain table; everything here is a no-op there.
"""

import re
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.db.transactions import Database

PARENT = "submissions"
DEFAULT_PARTITION = "submissions_default"
MONTHS_AHEAD = 3
# pg_advisory_xact_lock key: "subparts" in ASCII
_LOCK_KEY = 0x7375627061727473
_BOUNDS = re.compile(r"FOR VALUES FROM \('(\d{4}-\d{2}-\d{2})'\) TO \('(\d{4}-\d{2}-\d{2})'\)")


@dataclass(frozen=True, slots=True)
class MonthPartition:
    """One monthly partition: the rows with `first_day <= week_start < next_first_day`."""

    name: str
    first_day: date
    next_first_day: date

    def mondays(self) -> list[date]:
        """The weeks (their Mondays) whose rows this partition holds."""
        monday = self.first_day + timedelta(days=(7 - self.first_day.weekday()) % 7)
        found = []
        while monday < self.next_first_day:
            found.append(monday)
            monday += timedelta(weeks=1)
        return found


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_{month:%Y_%m}"


def months_ahead(today: date) -> list[date]:
    """The month of `today` and the MONTHS_AHEAD after it."""
    months = [month_of(today)]
    for _ in range(MONTHS_AHEAD):
        months.append(next_month(months[-1]))
    return months


def months_between(first: date, last: date) -> list[date]:
    """Every month from the one of `first` to the one of `last`."""
    months = [month_of(first)]
    while months[-1] < month_of(last):
        months.append(next_month(months[-1]))
    return months


def is_partition_table(name: str | None) -> bool:
    return (
        name == DEFAULT_PARTITION
        or re.fullmatch(rf"{PARENT}_\d{{4}}_\d{{2}}", name or "") is not None
    )


def include_in_comparison(
    name: str | None, type_: str, parent_names: MutableMapping[Any, str | None]
) -> bool:
    """Alembic's `include_name`: tables.py names the partitioned table only, so its partitions are
    left out when the database is compared with it (autogenerate, `alembic check`, the tests)."""
    return not (type_ == "table" and is_partition_table(name))


async def is_partitioned(connection: AsyncConnection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    found = await connection.execute(
        text("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:parent)"),
        {"parent": PARENT},
    )
    return found.first() is not None


async def month_partitions(connection: AsyncConnection) -> list[MonthPartition]:
    """The monthly partitions, oldest first (the default partition is not one)."""
    rows = await connection.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(:parent)"
        ),
        {"parent": PARENT},
    )
    found = []
    for name, bound in rows:
        match = _BOUNDS.fullmatch(bound)
        if match is not None:
            found.append(
                MonthPartition(name, date.fromisoformat(match[1]), date.fromisoformat(match[2]))
            )
    return sorted(found, key=lambda partition: partition.first_day)


async def _months_in_default(connection: AsyncConnection) -> list[date]:
    rows = await connection.execute(
        text(
            f"SELECT DISTINCT CAST(date_trunc('month', week_start) AS date) "  # noqa: S608
            f"FROM {DEFAULT_PARTITION}"
        )
    )
    return [row[0] for row in rows]


async def _create_partition(connection: AsyncConnection, month: date) -> None:
    """The month's partition; rows of the month waiting in the default partition move into it
    (a partition cannot be created while the default partition holds rows that belong to it)."""
    name = partition_name(month)
    bounds = f"FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')"
    in_month = f"week_start >= '{month.isoformat()}' AND week_start < '{next_month(month)}'"
    waiting = await connection.execute(
        text(f"SELECT 1 FROM {DEFAULT_PARTITION} WHERE {in_month} LIMIT 1")  # noqa: S608
    )
    if waiting.first() is None:
        await connection.execute(
            text(f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES {bounds}")
        )
        return
    await connection.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
    await connection.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE {in_month} RETURNING *) "  # noqa: S608
            f"INSERT INTO {name} SELECT * FROM moved"
        )
    )
    await connection.execute(
        text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES {bounds}")
    )


async def ensure_partitions(
    connection: AsyncConnection, today: date, months: Iterable[date] = ()
) -> list[str]:
    """Partitions for the month of `today` and the MONTHS_AHEAD after it, for `months`, and for every
    month with rows in the default partition; returns the names created. Run in a transaction."""
    if not await is_partitioned(connection):
        return []
    await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    existing = {partition.first_day for partition in await month_partitions(connection)}
    wanted = {
        month_of(month)
        for month in (*months_ahead(today), *months, *await _months_in_default(connection))
    }
    created = []
    for month in sorted(wanted - existing):
        await _create_partition(connection, month)
        created.append(partition_name(month))
    return created


async def drop_partition(connection: AsyncConnection, partition: MonthPartition) -> None:
    await connection.execute(text(f"DROP TABLE {partition.name}"))


async def ensure_coming_partitions(database: Database, months: Iterable[date] = ()) -> list[str]:
    """`ensure_partitions` for today (UTC) in its own transaction; nothing on SQLite."""
    if database.dialect_name != "postgresql":
        return []

    async def work(connection: AsyncConnection) -> list[str]:
        return await ensure_partitions(connection, datetime.now(UTC).date(), months)

    return await database.write(work)
