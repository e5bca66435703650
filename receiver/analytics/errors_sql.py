"""SQL for GET /stats/errors, read from the summaries: errors per week, and per type / code with the
range's last two weeks."""

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_sql import rows, weekly_c
from receiver.analytics.week_window import WeekWindow
from receiver.db.tables import weekly_counts, weekly_jobs

jobs_c = weekly_jobs.c


def _in_week(week: Any) -> Any:
    return func.sum(case((weekly_c.week == week, weekly_c.amount), else_=0))


async def error_counts(
    connection: AsyncConnection, window: WeekWindow
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    per_week = select(jobs_c.week, jobs_c.errors, jobs_c.active.label("installations")).where(
        jobs_c.week.between(window.since, window.until)
    )
    named = (
        select(
            weekly_c.key1.label("kind"),
            weekly_c.key2.label("name"),
            func.sum(weekly_c.amount).label("count"),
            _in_week(window.until).label("last_week"),
            _in_week(window.previous).label("previous_week"),
        )
        .select_from(weekly_counts)
        .where(weekly_c.dimension == "error", weekly_c.week.between(window.since, window.until))
        .group_by(weekly_c.key1, weekly_c.key2)
    )
    return await rows(connection, per_week), await rows(connection, named)
