"""SQL for the distributions of active installations (versions, deployment modes, countries): one
GROUP BY over the latest reports and one per week of the range."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_sql import (
    active_per_week,
    count_by,
    latest_reports,
    rows,
    weekly_count_by,
)
from receiver.analytics.week_window import WeekWindow


async def active_installations(connection: AsyncConnection, window: WeekWindow) -> int:
    latest = latest_reports(window)
    return int((await connection.execute(select(func.count()).select_from(latest))).scalar_one())


async def distribution(
    connection: AsyncConnection, window: WeekWindow, *columns: str
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(active installations, counts by `columns` now, active per week, counts per week)."""
    latest = latest_reports(window)
    return (
        await active_installations(connection, window),
        await rows(connection, count_by(latest, *columns)),
        await rows(connection, active_per_week(window)),
        await rows(connection, weekly_count_by(window, *columns)),
    )
