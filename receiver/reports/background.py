"""Starting and stopping the report schedule with the app (one task per worker process)."""

import asyncio
import contextlib

from receiver.reports.scheduler import ReportScheduler
from receiver.services import Services


def start_schedule(services: Services) -> asyncio.Task[None] | None:
    """The schedule's task when RECEIVER_REPORTS names a report, else None."""
    settings = services.settings.reports
    if not settings.scheduled:
        return None
    scheduler = ReportScheduler(services.stats, services.database, settings)
    return asyncio.create_task(scheduler.run(), name="report-schedule")


async def stop_schedule(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
