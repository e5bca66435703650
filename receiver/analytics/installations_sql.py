"""SQL for GET /stats/installations, from small tables kept by the rollup refresh: the totals and
the copy of the latest states (summary_totals.py: total; active in the last 7 / 30 days through
the copy's indexed `last_period_end`), and the weekly summaries (active per week; `weekly_spans`:
installations whose first and last counted week it is)."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_sql import active_per_week, rows
from receiver.analytics.week_window import WEEK, WeekWindow
from receiver.db.tables import summary_installations, summary_totals, weekly_spans

spans = weekly_spans.c


async def _active_since(connection: AsyncConnection, now: datetime, days: int) -> int:
    copied = summary_installations.c
    statement = select(func.count()).where(copied.last_period_end >= now - timedelta(days=days))
    return int((await connection.execute(statement)).scalar_one())


async def latest_state_totals(connection: AsyncConnection, now: datetime) -> dict[str, int]:
    totals = summary_totals.c
    total = select(totals.installations).where(totals.dimension == "all", totals.key == "")
    return {
        "total": int((await connection.execute(total)).scalar_one_or_none() or 0),
        "active_7d": await _active_since(connection, now, 7),
        "active_30d": await _active_since(connection, now, 30),
    }


async def installation_counts(
    connection: AsyncConnection, window: WeekWindow, now: datetime
) -> tuple[dict[str, int], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    firsts = select(
        spans.week.label("first_week"), spans.first_week_installations.label("installations")
    ).where(spans.week.between(window.since, window.until))
    lasts = select(
        spans.week.label("last_week"), spans.last_week_installations.label("installations")
    ).where(spans.week.between(window.since - WEEK, window.until - WEEK))
    return (
        await latest_state_totals(connection, now),
        await rows(connection, active_per_week(window)),
        await rows(connection, firsts),
        await rows(connection, lasts),
    )
