"""SQL for GET /stats/jobs: sums over the counted weeks of the range (fleet totals), per week, and
per model from the per-model breakdown of those same counted submissions."""

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_sql import in_range, rows, weeks_c
from receiver.analytics.week_window import WeekWindow
from receiver.db.tables import installation_weeks, submission_models

models_c = submission_models.c


def _fleet_sums() -> list[Any]:
    return [
        func.count(weeks_c.jobs_completed).label("installation_weeks"),
        func.sum(weeks_c.jobs_started).label("started"),
        func.sum(weeks_c.jobs_completed).label("completed"),
        func.sum(weeks_c.jobs_failed).label("failed"),
        func.sum(weeks_c.jobs_cancelled).label("cancelled"),
        func.sum(weeks_c.jobs_ended_without_outcome).label("ended_without_outcome"),
        func.sum(weeks_c.print_centihours).label("print_centihours"),
        func.sum(weeks_c.paused_centihours).label("paused_centihours"),
        func.sum(weeks_c.filament_cm).label("filament_cm"),
        func.count(weeks_c.filament_cm).label("filament_reports"),
        func.sum(case((weeks_c.jobs_completed.is_(None), weeks_c.job_count), else_=0)).label(
            "legacy_job_count"
        ),
    ]


def _model_sums() -> list[Any]:
    return [
        func.count().label("installation_weeks"),
        func.sum(models_c.jobs_started).label("started"),
        func.sum(models_c.jobs_completed).label("completed"),
        func.sum(models_c.jobs_failed).label("failed"),
        func.sum(models_c.jobs_cancelled).label("cancelled"),
        func.sum(models_c.jobs_ended_without_outcome).label("ended_without_outcome"),
        func.sum(models_c.print_centihours).label("print_centihours"),
        func.sum(models_c.paused_centihours).label("paused_centihours"),
        func.sum(models_c.filament_cm).label("filament_cm"),
        func.count(models_c.filament_cm).label("filament_reports"),
    ]


async def job_sums(
    connection: AsyncConnection, window: WeekWindow
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    totals = select(*_fleet_sums()).where(in_range(window))
    weekly = select(weeks_c.week, *_fleet_sums()).where(in_range(window)).group_by(weeks_c.week)
    counted_models = submission_models.join(
        installation_weeks, weeks_c.submission_id == models_c.submission_id
    )
    models = (
        select(models_c.family, models_c.model, *_model_sums())
        .select_from(counted_models)
        .where(in_range(window))
        .group_by(models_c.family, models_c.model)
    )
    total_row = (await connection.execute(totals)).mappings().one()
    return dict(total_row), await rows(connection, weekly), await rows(connection, models)
