"""Retention: delete submissions (and stale latest states / rate-limit windows) older than N days."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
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


@dataclass(frozen=True, slots=True)
class PurgeResult:
    submissions: int
    installations: int
    rate_limits: int


async def purge(
    database: Database, retention_days: int, now: datetime | None = None
) -> PurgeResult:
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    current_window = int(time.time()) // RATE_WINDOW_SECONDS * RATE_WINDOW_SECONDS

    async def work(connection: AsyncConnection) -> PurgeResult:
        await purge_rollups(connection, cutoff)
        expired = select(submissions.c.id).where(submissions.c.period_end < cutoff)
        for breakdown in (submission_models, submission_model_errors):
            await connection.execute(
                delete(breakdown).where(breakdown.c.submission_id.in_(expired))
            )
        old_submissions = await connection.execute(
            delete(submissions).where(submissions.c.period_end < cutoff)
        )
        old_installations = await connection.execute(
            delete(installations).where(installations.c.last_received_at < cutoff)
        )
        old_windows = await connection.execute(
            delete(rate_limits).where(rate_limits.c.window_start < current_window)
        )
        return PurgeResult(
            int(old_submissions.rowcount),
            int(old_installations.rowcount),
            int(old_windows.rowcount),
        )

    return await database.write(work)
