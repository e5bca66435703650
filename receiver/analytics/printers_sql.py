"""SQL for GET /stats/printers, read from the summaries: the active window's fleet, fleet-size
buckets, families and models, and printers per week."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_sql import in_window, renamed, rows, weekly, window_totals
from receiver.analytics.week_window import WeekWindow


async def printer_figures(connection: AsyncConnection, window: WeekWindow) -> dict[str, Any]:
    active, printers = await window_totals(connection, window)
    return {
        "fleet": {"installations": active, "printers": printers},
        "buckets": renamed(await rows(connection, in_window(window, "bucket")), bucket="key1"),
        "families": renamed(
            await rows(connection, in_window(window, "family")), family="key1", printers="amount"
        ),
        "models": renamed(
            await rows(connection, in_window(window, "printers")),
            family="key1",
            model="key2",
            printers="amount",
        ),
        "weekly": renamed(
            await rows(connection, weekly(window, "active")),
            active="installations",
            printers="amount",
        ),
    }
