"""SQL for GET /stats/anomalies: the weekly series with the baseline weeks before the range (from the
summaries), stored submissions per week (`weekly_submissions`: windows that do not count for their
week are submissions too), and job outcomes per version over the active window — a few rows per
week, never the submissions themselves."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.anomalies import BASELINE_WEEKS
from receiver.analytics.rollup_sql import active_per_week, rows, weekly
from receiver.analytics.week_window import WEEK, WeekWindow
from receiver.db.tables import weekly_jobs, weekly_submissions


async def anomaly_inputs(
    connection: AsyncConnection, window: WeekWindow
) -> dict[str, list[dict[str, Any]]]:
    since = window.since - BASELINE_WEEKS * WEEK
    jobs = weekly_jobs.c
    errors = select(jobs.week, jobs.errors).where(jobs.week.between(since, window.until))
    stored = weekly_submissions.c
    submitted = select(stored.week, stored.submissions).where(
        stored.week.between(since, window.until)
    )
    version_rows = weekly(window, "version", since=window.active_since).subquery()
    versions = select(
        version_rows.c.key1.label("product"),
        version_rows.c.key2.label("app_version"),
        func.sum(version_rows.c.completed).label("completed"),
        func.sum(version_rows.c.failed).label("failed"),
        func.sum(version_rows.c.cancelled).label("cancelled"),
    ).group_by(version_rows.c.key1, version_rows.c.key2)
    return {
        "active": await rows(connection, active_per_week(window, since)),
        "errors": await rows(connection, errors),
        "submissions": await rows(connection, submitted),
        "versions": await rows(connection, versions),
    }
