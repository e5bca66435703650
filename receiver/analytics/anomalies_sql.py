"""SQL for GET /stats/anomalies: the weekly series with the baseline weeks before the range, stored
submissions per week, and job outcomes per version over the active window."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.anomalies import BASELINE_WEEKS
from receiver.analytics.rollup_sql import active_per_week, rows, weeks_c
from receiver.analytics.week_window import WEEK, WeekWindow
from receiver.db.tables import installation_weeks, submissions


async def anomaly_inputs(
    connection: AsyncConnection, window: WeekWindow
) -> dict[str, list[dict[str, Any]]]:
    since = window.since - BASELINE_WEEKS * WEEK
    errors = (
        select(weeks_c.week, func.sum(weeks_c.errors).label("errors"))
        .where(weeks_c.week.between(since, window.until))
        .group_by(weeks_c.week)
    )
    week_start = submissions.c.week_start
    submitted = (
        select(week_start.label("week"), func.count().label("submissions"))
        .where(week_start.between(since, window.until))
        .group_by(week_start)
    )
    versions = (
        select(
            weeks_c.product,
            weeks_c.app_version,
            func.sum(weeks_c.jobs_completed).label("completed"),
            func.sum(weeks_c.jobs_failed).label("failed"),
            func.sum(weeks_c.jobs_cancelled).label("cancelled"),
        )
        .select_from(installation_weeks)
        .where(weeks_c.week.between(window.active_since, window.until))
        .where(weeks_c.jobs_completed.is_not(None))
        .group_by(weeks_c.product, weeks_c.app_version)
    )
    return {
        "active": await rows(connection, active_per_week(window, since)),
        "errors": await rows(connection, errors),
        "submissions": await rows(connection, submitted),
        "versions": await rows(connection, versions),
    }
