"""SQL for GET /stats/reliability: sums per (family, model) over a range of ISO weeks, read from the
weekly model rollups (model_rollups.py), in the database.

What counts: the per-model breakdown of the weeks in the range — at most one submission with a
breakdown per installation and week (schema 1.1 periods are whole ISO weeks, stored once). An
installation counts once per model over the range: at its first week of the range with that model,
i.e. the `weekly_model_firsts` rows of the range whose previous week lies before the range.
Python gets one row per model and one per (model, top error code).
"""

from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.model_rollups import USAGE_SUMS
from receiver.analytics.reliability import TOP_ERROR_CODES, WeekRange
from receiver.db.tables import weekly_model_errors, weekly_model_firsts, weekly_model_usage

usage = weekly_model_usage.c
firsts = weekly_model_firsts.c
errors = weekly_model_errors.c


def installations_per_model(weeks: WeekRange) -> Select[Any]:
    """(family, model, installations): each installation once, at its first week of the range."""
    return (
        select(firsts.family, firsts.model, func.sum(firsts.installations).label("installations"))
        .where(
            firsts.week.between(weeks.since, weeks.until),
            or_(firsts.previous_week.is_(None), firsts.previous_week < weeks.since),
        )
        .group_by(firsts.family, firsts.model)
    )


def usage_per_model(weeks: WeekRange) -> Select[Any]:
    counted = installations_per_model(weeks).subquery("counted")
    sums = (
        select(
            usage.family,
            usage.model,
            func.sum(usage.installation_weeks).label("installation_weeks"),
            *(func.sum(usage[name]).label(name) for name in USAGE_SUMS),
            func.sum(usage.filament_cm).label("filament_cm"),
            func.sum(usage.filament_reports).label("filament_reports"),
        )
        .where(usage.week.between(weeks.since, weeks.until))
        .group_by(usage.family, usage.model)
        .subquery("sums")
    )
    return select(sums, counted.c.installations).join_from(
        sums,
        counted,
        (counted.c.family == sums.c.family) & (counted.c.model == sums.c.model),
        isouter=True,
    )


def _bytewise(column: ColumnElement[str], dialect_name: str) -> ColumnElement[str]:
    """Order by bytes on both databases (PostgreSQL's default collation depends on the locale)."""
    return column.collate("C" if dialect_name == "postgresql" else "BINARY")


def top_errors_per_model(weeks: WeekRange, dialect_name: str) -> Select[Any]:
    """The `TOP_ERROR_CODES` most frequent codes per model (ties: code order), with the model's total."""
    per_code = (
        select(errors.family, errors.model, errors.code, func.sum(errors.count).label("count"))
        .where(errors.week.between(weeks.since, weeks.until))
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
    """(usage sums per model, top error codes per model) of the range."""
    usage_rows = [
        dict(row) for row in (await connection.execute(usage_per_model(weeks))).mappings()
    ]
    codes = (
        await connection.execute(top_errors_per_model(weeks, connection.dialect.name))
    ).mappings()
    return usage_rows, [dict(row) for row in codes]
