"""SQL for GET /stats/features, read from the summaries: enabled features in the active window and
per week."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.distribution_sql import active_installations
from receiver.analytics.rollup_sql import active_per_week, in_window, renamed, rows, weekly
from receiver.analytics.week_window import WeekWindow


async def feature_counts(
    connection: AsyncConnection, window: WeekWindow
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    return (
        await active_installations(connection, window),
        renamed(await rows(connection, in_window(window, "feature")), feature="key1"),
        await rows(connection, active_per_week(window)),
        renamed(await rows(connection, weekly(window, "feature")), feature="key1"),
    )
