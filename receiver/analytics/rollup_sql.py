"""Shared SQL over the rollups: the counted weeks of a range and each active installation's latest
report. Every figure is a GROUP BY in the database; Python receives one row per group."""

from typing import Any

from sqlalchemy import Select, Subquery, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.week_window import WeekWindow
from receiver.db.tables import installation_weeks

weeks_c = installation_weeks.c


def in_range(window: WeekWindow, since: Any = None) -> Any:
    return weeks_c.week.between(window.since if since is None else since, window.until)


def latest_reports(window: WeekWindow) -> Subquery:
    """Each installation counted in the active window (the `ACTIVE_WEEKS` weeks ending with the
    range) with its latest counted week there: the rows of `installation_weeks` that describe the
    active installations."""
    ranked = select(
        installation_weeks,
        func.row_number()
        .over(partition_by=weeks_c.installation_id, order_by=weeks_c.week.desc())
        .label("recency"),
    ).where(weeks_c.week.between(window.active_since, window.until))
    inner = ranked.subquery("ranked_reports")
    return select(inner).where(inner.c.recency == 1).subquery("latest")


def joins_latest(table: Any, latest: Subquery) -> Any:
    return and_(table.c.installation_id == latest.c.installation_id, table.c.week == latest.c.week)


async def rows(connection: AsyncConnection, statement: Select[Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in (await connection.execute(statement)).mappings()]


def active_per_week(window: WeekWindow, since: Any = None) -> Select[Any]:
    return (
        select(weeks_c.week, func.count().label("active"))
        .where(in_range(window, since))
        .group_by(weeks_c.week)
    )


def count_by(latest: Subquery, *columns: str) -> Select[Any]:
    keys = [latest.c[name] for name in columns]
    return select(*keys, func.count().label("installations")).group_by(*keys)


def weekly_count_by(window: WeekWindow, *columns: str) -> Select[Any]:
    keys = [weeks_c[name] for name in columns]
    return (
        select(weeks_c.week, *keys, func.count().label("installations"))
        .where(in_range(window))
        .group_by(weeks_c.week, *keys)
    )
