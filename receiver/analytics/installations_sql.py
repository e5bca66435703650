"""SQL for GET /stats/installations: the latest-state table (total, active 7 / 30 days) and the
rollups (active per week, first and last counted week per installation)."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_sql import active_per_week, rows
from receiver.analytics.week_window import WEEK, WeekWindow
from receiver.db.tables import installation_spans, installations

spans = installation_spans.c


def _active_since(now: datetime, days: int) -> Any:
    ended = installations.c.last_period_end >= now - timedelta(days=days)
    return func.coalesce(func.sum(case((ended, 1), else_=0)), 0)


async def latest_state_totals(connection: AsyncConnection, now: datetime) -> dict[str, int]:
    statement = select(
        func.count().label("total"),
        _active_since(now, 7).label("active_7d"),
        _active_since(now, 30).label("active_30d"),
    ).select_from(installations)
    row = (await connection.execute(statement)).mappings().one()
    return {name: int(value) for name, value in row.items()}


async def installation_counts(
    connection: AsyncConnection, window: WeekWindow, now: datetime
) -> tuple[dict[str, int], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    firsts = (
        select(spans.first_week, func.count().label("installations"))
        .where(spans.first_week.between(window.since, window.until))
        .group_by(spans.first_week)
    )
    lasts = (
        select(spans.last_week, func.count().label("installations"))
        .where(spans.last_week.between(window.since - WEEK, window.until - WEEK))
        .group_by(spans.last_week)
    )
    return (
        await latest_state_totals(connection, now),
        await rows(connection, active_per_week(window)),
        await rows(connection, firsts),
        await rows(connection, lasts),
    )
