"""SQL for GET /stats/errors: errors per week, and per type / code with the range's last two weeks."""

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_sql import in_range, rows, weeks_c
from receiver.analytics.week_window import WeekWindow
from receiver.db.tables import installation_week_errors

errors_c = installation_week_errors.c


def _in_week(week: Any) -> Any:
    return func.sum(case((errors_c.week == week, errors_c.count), else_=0))


async def error_counts(
    connection: AsyncConnection, window: WeekWindow
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    weekly = (
        select(
            weeks_c.week,
            func.sum(weeks_c.errors).label("errors"),
            func.count().label("installations"),
        )
        .where(in_range(window))
        .group_by(weeks_c.week)
    )
    named = (
        select(
            errors_c.kind,
            errors_c.name,
            func.sum(errors_c.count).label("count"),
            _in_week(window.until).label("last_week"),
            _in_week(window.previous).label("previous_week"),
        )
        .where(errors_c.week.between(window.since, window.until))
        .group_by(errors_c.kind, errors_c.name)
    )
    return await rows(connection, weekly), await rows(connection, named)
