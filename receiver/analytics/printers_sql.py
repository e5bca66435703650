"""SQL for GET /stats/printers: sums over the active installations' latest reports and per week."""

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.printers import BUCKETS
from receiver.analytics.rollup_sql import in_range, joins_latest, latest_reports, rows, weeks_c
from receiver.analytics.week_window import WeekWindow
from receiver.db.tables import installation_week_printers, installation_weeks

printers_c = installation_week_printers.c


def _bucket(column: Any) -> Any:
    whens = [
        (column <= high if high is not None else column >= low, label)
        for label, low, high in BUCKETS
    ]
    return case(*whens)


async def printer_figures(connection: AsyncConnection, window: WeekWindow) -> dict[str, Any]:
    latest = latest_reports(window)
    fleet = (
        (
            await connection.execute(
                select(
                    func.count().label("installations"),
                    func.sum(latest.c.printer_count).label("printers"),
                ).select_from(latest)
            )
        )
        .mappings()
        .one()
    )
    bucket = _bucket(latest.c.printer_count).label("bucket")
    buckets = (
        select(bucket, func.count().label("installations")).select_from(latest).group_by(bucket)
    )
    owned = installation_week_printers.join(
        latest, joins_latest(installation_week_printers, latest)
    )
    models = (
        select(
            printers_c.family,
            printers_c.model,
            func.sum(printers_c.printers).label("printers"),
            func.count().label("installations"),
        )
        .select_from(owned)
        .group_by(printers_c.family, printers_c.model)
    )
    families = (
        select(
            printers_c.family,
            func.sum(printers_c.printers).label("printers"),
            func.count(func.distinct(printers_c.installation_id)).label("installations"),
        )
        .select_from(owned)
        .group_by(printers_c.family)
    )
    weekly = (
        select(
            weeks_c.week,
            func.count().label("active"),
            func.sum(weeks_c.printer_count).label("printers"),
        )
        .select_from(installation_weeks)
        .where(in_range(window))
        .group_by(weeks_c.week)
    )
    return {
        "fleet": dict(fleet),
        "buckets": await rows(connection, buckets),
        "families": await rows(connection, families),
        "models": await rows(connection, models),
        "weekly": await rows(connection, weekly),
    }
