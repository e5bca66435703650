"""Retention: delete submissions (and stale latest states / rate-limit windows) older than N days."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_erase import purge_rollups
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


@dataclass(frozen=True, slots=True)
class PurgeResult:
    submissions: int
    installations: int
    rate_limits: int


async def _count_expired(database: Database, cutoff: datetime) -> int:
    async def work(connection: AsyncConnection) -> int:
        statement = select(func.count()).where(submissions.c.period_end < cutoff)
        return int((await connection.execute(statement)).scalar_one())

    return await database.read(work)


async def _delete_expired_batch(database: Database, cutoff: datetime) -> int:
    """One short transaction: up to BATCH expired submissions and their breakdown rows."""

    async def work(connection: AsyncConnection) -> int:
        ids = [
            row[0]
            for row in await connection.execute(
                select(submissions.c.id)
                .where(submissions.c.period_end < cutoff)
                .order_by(submissions.c.id)
                .limit(BATCH)
            )
        ]
        if not ids:
            return 0
        for table in (submission_models, submission_model_errors):
            await connection.execute(delete(table).where(table.c.submission_id.in_(ids)))
        await connection.execute(delete(submissions).where(submissions.c.id.in_(ids)))
        return len(ids)

    return await database.write(work)


async def purge(
    database: Database,
    retention_days: int,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PurgeResult:
    """Expired submissions go in batches of BATCH (short transactions, `progress(done, total)` after
    each), then the rollups, latest states and rate-limit windows in one transaction."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    current_window = int(time.time()) // RATE_WINDOW_SECONDS * RATE_WINDOW_SECONDS
    total = await _count_expired(database, cutoff)
    deleted = 0
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
        )

    return await database.write(work)
