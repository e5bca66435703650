"""The background refresh of the analytics rollups (one task per worker process), started with the
app when RECEIVER_ROLLUP_INTERVAL_SECONDS is above 0; with 0, answers refresh inline instead."""

import asyncio
import contextlib
from datetime import UTC, date, datetime

from receiver.analytics.week_window import WEEK, monday_of
from receiver.services import Services


def last_complete_week() -> date:
    return monday_of(datetime.now(UTC).date()) - WEEK


def start_refresh(services: Services) -> asyncio.Task[None] | None:
    refresher = services.stats.refresher
    if refresher.min_interval_seconds <= 0:
        return None
    return asyncio.create_task(refresher.run(last_complete_week), name="rollup-refresh")


async def stop_refresh(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
