"""The background refresh of the analytics rollups (one task per worker process), started with the
app when RECEIVER_ROLLUP_INTERVAL_SECONDS is above 0; with 0, answers refresh inline instead."""

import asyncio
import contextlib
from datetime import UTC, date, datetime

from receiver.analytics.refresher import RollupRefresher
from receiver.analytics.week_window import WEEK, monday_of
from receiver.services import Services


def last_complete_week() -> date:
    return monday_of(datetime.now(UTC).date()) - WEEK


# How long shutdown waits for a refresh in progress to finish before cancelling it (a cancelled
# refresh loses only its open transaction; the next one starts from the last watermark).
STOP_GRACE_SECONDS = 10.0


def start_refresh(services: Services) -> asyncio.Task[None] | None:
    refresher = services.stats.refresher
    if refresher.min_interval_seconds <= 0:
        return None
    return asyncio.create_task(refresher.run(last_complete_week), name="rollup-refresh")


async def stop_refresh(
    refresher: RollupRefresher, task: asyncio.Task[None], grace_seconds: float = STOP_GRACE_SECONDS
) -> None:
    """Let a refresh in progress finish (cancelling it mid-query left its database connection
    unreturned, and the database driver's thread answering a closed event loop), then stop."""
    refresher.stop()
    done, _ = await asyncio.wait({task}, timeout=grace_seconds)
    if not done:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
