"""SQL for the distributions of active installations (versions, deployment modes, countries), read
from the summaries: the active window's counts and the counts per week."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_sql import (
    active_per_week,
    in_window,
    renamed,
    rows,
    weekly,
    window_totals,
)
from receiver.analytics.week_window import WeekWindow

# the rollup columns of each distribution → its dimension in the summaries
DIMENSIONS = {
    ("product", "app_version"): "version",
    ("deployment_mode",): "mode",
    ("country_code",): "country",
}


async def active_installations(connection: AsyncConnection, window: WeekWindow) -> int:
    return (await window_totals(connection, window))[0]


async def distribution(
    connection: AsyncConnection, window: WeekWindow, *columns: str
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(active installations, counts by `columns` now, active per week, counts per week)."""
    dimension = DIMENSIONS[columns]
    names = dict(zip(columns, ("key1", "key2"), strict=False))
    return (
        await active_installations(connection, window),
        renamed(await rows(connection, in_window(window, dimension)), **names),
        await rows(connection, active_per_week(window)),
        renamed(await rows(connection, weekly(window, dimension)), **names),
    )
