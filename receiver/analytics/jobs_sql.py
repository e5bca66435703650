"""SQL for GET /stats/jobs, read from the summaries: the fleet totals per week (`weekly_jobs`) and
per model (`weekly_model_jobs`, from the per-model breakdown of the counted submissions), summed over
the range."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_sql import rows
from receiver.analytics.week_window import WeekWindow
from receiver.db.tables import JOB_SUMS, weekly_jobs, weekly_model_jobs

jobs_c = weekly_jobs.c
models_c = weekly_model_jobs.c


async def job_sums(
    connection: AsyncConnection, window: WeekWindow
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    in_range = jobs_c.week.between(window.since, window.until)
    totals = select(
        func.sum(jobs_c.reports).label("installation_weeks"),
        *(func.sum(jobs_c[name]).label(name) for name in JOB_SUMS),
        func.sum(jobs_c.legacy_job_count).label("legacy_job_count"),
    ).where(in_range)
    weekly = select(
        jobs_c.week,
        jobs_c.reports.label("installation_weeks"),
        *(jobs_c[name] for name in JOB_SUMS),
    ).where(in_range)
    models = (
        select(
            models_c.family,
            models_c.model,
            func.sum(models_c.installation_weeks).label("installation_weeks"),
            *(func.sum(models_c[name]).label(name) for name in JOB_SUMS),
        )
        .where(models_c.week.between(window.since, window.until))
        .group_by(models_c.family, models_c.model)
    )
    total_row = (await connection.execute(totals)).mappings().one()
    return dict(total_row), await rows(connection, weekly), await rows(connection, models)
