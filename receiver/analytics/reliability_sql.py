"""SQL for GET /stats/reliability: sums per (family, model) over a range of ISO weeks, in the database.

Which submissions count: those with a per-model breakdown whose week (the ISO week holding the middle of
the period, stored with the breakdown rows) lies in the range; when one installation has several in the
same week (overlapping windows), only the one with the latest period end counts (then the newest id).
Everything is summed in SQL; Python gets one row per model and one per (model, top error code).
"""

from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, func, select, union
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.reliability import TOP_ERROR_CODES, WeekRange
from receiver.db.tables import submission_model_errors, submission_models, submissions

models = submission_models.c
errors = submission_model_errors.c

# Sums per model; hours and metres stay whole hundredths (exact on both databases).
_SUMS = {
    "printer_weeks": models.printers,
    "active_printer_weeks": models.active_printers,
    "jobs_started": models.jobs_started,
    "jobs_completed": models.jobs_completed,
    "jobs_failed": models.jobs_failed,
    "jobs_cancelled": models.jobs_cancelled,
    "jobs_ended_without_outcome": models.jobs_ended_without_outcome,
    "print_centihours": models.print_centihours,
    "paused_centihours": models.paused_centihours,
    "filament_cm": models.filament_cm,
}


def counted_submissions(weeks: WeekRange) -> Subquery:
    """(submission_id, installation_id): one submission per installation and week in the range."""
    in_range = union(
        select(models.submission_id, models.week).where(
            models.week.between(weeks.since, weeks.until)
        ),
        select(errors.submission_id, errors.week).where(
            errors.week.between(weeks.since, weeks.until)
        ),
    ).subquery("in_range")
    ranked = (
        select(
            in_range.c.submission_id,
            submissions.c.installation_id,
            func.row_number()
            .over(
                partition_by=(submissions.c.installation_id, in_range.c.week),
                order_by=(submissions.c.period_end.desc(), submissions.c.id.desc()),
            )
            .label("rank"),
        )
        .join_from(in_range, submissions, submissions.c.id == in_range.c.submission_id)
        .subquery("ranked")
    )
    return (
        select(ranked.c.submission_id, ranked.c.installation_id)
        .where(ranked.c.rank == 1)
        .subquery("counted")
    )


def usage_per_model(counted: Subquery) -> Select[Any]:
    return (
        select(
            models.family,
            models.model,
            func.count(func.distinct(counted.c.installation_id)).label("installations"),
            func.count().label("installation_weeks"),
            *(func.sum(column).label(name) for name, column in _SUMS.items()),
            func.count(models.filament_cm).label("filament_reports"),
        )
        .join_from(submission_models, counted, counted.c.submission_id == models.submission_id)
        .group_by(models.family, models.model)
    )


def _bytewise(column: ColumnElement[str], dialect_name: str) -> ColumnElement[str]:
    """Order by bytes on both databases (PostgreSQL's default collation depends on the locale)."""
    return column.collate("C" if dialect_name == "postgresql" else "BINARY")


def top_errors_per_model(counted: Subquery, dialect_name: str) -> Select[Any]:
    """The `TOP_ERROR_CODES` most frequent codes per model (ties: code order), with the model's total."""
    per_code = (
        select(
            errors.family,
            errors.model,
            errors.code,
            func.sum(errors.count).label("count"),
        )
        .join_from(
            submission_model_errors, counted, counted.c.submission_id == errors.submission_id
        )
        .group_by(errors.family, errors.model, errors.code)
        .subquery("per_code")
    )
    model_key = (per_code.c.family, per_code.c.model)
    ranked = select(
        per_code,
        func.row_number()
        .over(
            partition_by=model_key,
            order_by=(per_code.c.count.desc(), _bytewise(per_code.c.code, dialect_name)),
        )
        .label("rank"),
        func.sum(per_code.c.count).over(partition_by=model_key).label("model_errors"),
    ).subquery("ranked_codes")
    return select(ranked).where(ranked.c.rank <= TOP_ERROR_CODES)


async def reliability_sums(
    connection: AsyncConnection, weeks: WeekRange
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(usage sums per model, top error codes per model) for the counted submissions."""
    counted = counted_submissions(weeks)
    usage = (await connection.execute(usage_per_model(counted))).mappings()
    usage_rows = [dict(row) for row in usage]
    codes = (
        await connection.execute(top_errors_per_model(counted, connection.dialect.name))
    ).mappings()
    return usage_rows, [dict(row) for row in codes]
