"""Deleting rollup rows together with the submissions they were made from (GDPR erasure, purge).

Both run inside the caller's transaction, under the rollup lock, before the caller deletes the
submissions themselves.
"""

from datetime import datetime

from sqlalchemy import delete, exists, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_lock import lock_rollups
from receiver.analytics.summaries import mark_dirty, mark_dirty_where
from receiver.analytics.summary_totals import forget_installation
from receiver.db.tables import (
    installation_spans,
    installation_week_errors,
    installation_week_features,
    installation_week_models,
    installation_week_printers,
    installation_weeks,
    submissions,
)

WEEK_TABLES = (
    installation_week_printers,
    installation_week_features,
    installation_week_errors,
    installation_weeks,
)


async def erase_installation_rollups(connection: AsyncConnection, installation_id: str) -> None:
    await lock_rollups(connection)
    await mark_dirty_where(connection, installation_weeks.c.installation_id == installation_id)
    await forget_installation(connection, installation_id)
    for table in (*WEEK_TABLES, installation_week_models, installation_spans):
        await connection.execute(delete(table).where(table.c.installation_id == installation_id))


async def purge_rollups(connection: AsyncConnection, cutoff: datetime) -> None:
    """Forget the weeks whose counted submission ended before `cutoff` (purge deletes it, and all
    other submissions of that week end earlier still), the spans left without any week, and the
    purged first weeks of the other spans (an installation is new in its oldest week kept). The
    model rollups of those weeks (installation_week_models) are replaced when the dirty weeks are
    recomputed, which also marks the weeks after them whose previous week changed."""
    await lock_rollups(connection)
    await mark_dirty_where(connection, installation_weeks.c.period_end < cutoff)
    # weeks that keep a counted submission but lose an earlier window (stored-submission counts)
    purged_weeks = select(submissions.c.week_start).where(submissions.c.period_end < cutoff)
    await mark_dirty(connection, (await connection.execute(purged_weeks.distinct())).scalars())
    expired = select(installation_weeks.c.installation_id, installation_weeks.c.week).where(
        installation_weeks.c.period_end < cutoff
    )
    for table in WEEK_TABLES:
        await connection.execute(
            delete(table).where(tuple_(table.c.installation_id, table.c.week).in_(expired))
        )
    has_week = exists().where(
        installation_weeks.c.installation_id == installation_spans.c.installation_id
    )
    await connection.execute(delete(installation_spans).where(~has_week))
    # the others now start with their oldest week left (read live as "new" by the answers)
    oldest_left = (
        select(func.min(installation_weeks.c.week))
        .where(installation_weeks.c.installation_id == installation_spans.c.installation_id)
        .scalar_subquery()
    )
    moving = (installation_spans.c.first_week <= cutoff.date()) & (
        installation_spans.c.first_week < oldest_left
    )
    # the new first weeks' counts of new installations change (weekly_spans)
    new_firsts = select(oldest_left).where(moving).distinct()
    await mark_dirty(connection, (await connection.execute(new_firsts)).scalars())
    await connection.execute(
        update(installation_spans).where(moving).values(first_week=oldest_left)
    )
