"""Retention: delete submissions (and stale latest states / rate-limit windows) older than N days.

A submission expires when its period ended before the cutoff. On PostgreSQL (`submissions`
partitioned by month of week_start, receiver/db/partitions.py) a month whose every row expired is
dropped whole; the rest — the boundary month, the default partition, and SQLite — is deleted row by
row in batches. Every transaction that removes submissions holds the rollup lock and marks their
weeks dirty, so the summaries are recomputed without them.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_erase import purge_rollups
from receiver.analytics.rollup_lock import lock_rollups
from receiver.analytics.summaries import mark_dirty
from receiver.db.partitions import (
    MonthPartition,
    drop_partition,
    ensure_coming_partitions,
    is_partitioned,
    month_partitions,
)
from receiver.db.tables import (
    installations,
    rate_limits,
    submission_model_errors,
    submission_models,
    submissions,
)
from receiver.db.transactions import Database

RATE_WINDOW_SECONDS = 3600
BATCH = 5000
BREAKDOWN_TABLES = (submission_models, submission_model_errors)


@dataclass(frozen=True, slots=True)
class PurgeResult:
    submissions: int
    installations: int
    rate_limits: int
    partitions_dropped: tuple[str, ...] = ()


async def _expired_partitions(database: Database, cutoff: datetime) -> list[MonthPartition]:
    """Monthly partitions whose every row expired: the month ended before the cutoff and its newest
    period end (one probe of the partition's period_end index) lies before it too — the last week of
    a month can end in the next one, after the cutoff."""

    async def work(connection: AsyncConnection) -> list[MonthPartition]:
        found = []
        for partition in await month_partitions(connection):
            if partition.next_first_day > cutoff.astimezone(UTC).date():
                continue
            newest = await connection.execute(
                text(f"SELECT max(period_end) FROM {partition.name}")  # noqa: S608
            )
            latest_end = newest.scalar()
            if latest_end is None or latest_end < cutoff:
                found.append(partition)
        return found

    return await database.read(work)


async def _drop_month(database: Database, partition: MonthPartition) -> int:
    """One transaction: the month's weeks marked dirty, its breakdown rows deleted, the partition
    dropped; returns its row count."""

    async def work(connection: AsyncConnection) -> int:
        await lock_rollups(connection)
        await mark_dirty(connection, partition.mondays())
        rows = await connection.execute(text(f"SELECT count(*) FROM {partition.name}"))  # noqa: S608
        ids = text(f"SELECT id FROM {partition.name}")  # noqa: S608
        for table in BREAKDOWN_TABLES:
            await connection.execute(
                delete(table).where(table.c.submission_id.in_(ids.columns(submissions.c.id)))
            )
        await drop_partition(connection, partition)
        return int(rows.scalar_one())

    return await database.write(work)


async def _drop_expired_months(database: Database, cutoff: datetime) -> tuple[int, list[str]]:
    """PostgreSQL: partitions for the coming months first (receiver/db/partitions.py), then every
    month that expired as a whole is dropped; (rows dropped, partitions dropped)."""

    if not await database.read(is_partitioned):
        return 0, []
    await ensure_coming_partitions(database)
    rows, names = 0, []
    for partition in await _expired_partitions(database, cutoff):
        rows += await _drop_month(database, partition)
        names.append(partition.name)
    return rows, names


async def _count_expired(database: Database, cutoff: datetime) -> int:
    async def work(connection: AsyncConnection) -> int:
        statement = select(func.count()).where(submissions.c.period_end < cutoff)
        return int((await connection.execute(statement)).scalar_one())

    return await database.read(work)


async def _delete_expired_batch(database: Database, cutoff: datetime) -> int:
    """One short transaction: up to BATCH expired submissions and their breakdown rows."""

    async def work(connection: AsyncConnection) -> int:
        await lock_rollups(connection)
        rows = (
            await connection.execute(
                select(submissions.c.id, submissions.c.week_start)
                .where(submissions.c.period_end < cutoff)
                .order_by(submissions.c.id)
                .limit(BATCH)
            )
        ).all()
        if not rows:
            return 0
        ids = [row.id for row in rows]
        weeks: set[date] = {row.week_start for row in rows}
        await mark_dirty(connection, weeks)
        for table in BREAKDOWN_TABLES:
            await connection.execute(delete(table).where(table.c.submission_id.in_(ids)))
        # the weeks name the partitions to look in (PostgreSQL prunes the others)
        await connection.execute(
            delete(submissions).where(
                submissions.c.id.in_(ids), submissions.c.week_start.in_(sorted(weeks))
            )
        )
        return len(ids)

    return await database.write(work)


async def purge(
    database: Database,
    retention_days: int,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PurgeResult:
    """Expired months are dropped (PostgreSQL), the other expired submissions deleted in batches of
    BATCH (short transactions, `progress(done, total)` after each), then the rollups, latest states
    and rate-limit windows in one transaction."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    current_window = int(time.time()) // RATE_WINDOW_SECONDS * RATE_WINDOW_SECONDS
    dropped, partitions_dropped = await _drop_expired_months(database, cutoff)
    total = dropped + await _count_expired(database, cutoff)
    deleted = dropped
    while True:
        batch = await _delete_expired_batch(database, cutoff)
        deleted += batch
        if progress is not None:
            progress(deleted, max(total, deleted))
        if batch < BATCH:
            break

    async def work(connection: AsyncConnection) -> PurgeResult:
        await purge_rollups(connection, cutoff)
        old_installations = await connection.execute(
            delete(installations).where(installations.c.last_received_at < cutoff)
        )
        old_windows = await connection.execute(
            delete(rate_limits).where(rate_limits.c.window_start < current_window)
        )
        return PurgeResult(
            deleted,
            int(old_installations.rowcount),
            int(old_windows.rowcount),
            tuple(partitions_dropped),
        )

    return await database.write(work)
