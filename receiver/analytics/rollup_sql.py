"""Shared SQL over the rollup summaries (summaries.py): counts per week and per active window. Every
figure was grouped in the database when its week changed; an answer reads a few rows per week."""

from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.week_window import WeekWindow
from receiver.db.tables import installation_weeks, weekly_counts, window_counts

weeks_c = installation_weeks.c
weekly_c = weekly_counts.c
window_c = window_counts.c


async def rows(connection: AsyncConnection, statement: Select[Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in (await connection.execute(statement)).mappings()]


def weekly(window: WeekWindow, dimension: str, since: date | None = None) -> Select[Any]:
    """`weekly_counts` of one dimension over the range (`week`, `key1`, `key2`, `installations`,
    `amount`, `completed`, `failed`, `cancelled`)."""
    return select(weekly_counts).where(
        weekly_c.dimension == dimension,
        weekly_c.week.between(window.since if since is None else since, window.until),
    )


def in_window(window: WeekWindow, dimension: str) -> Select[Any]:
    """`window_counts` of one dimension for the active window ending with the range."""
    return select(window_counts).where(
        window_c.dimension == dimension, window_c.until_week == window.until
    )


def active_per_week(window: WeekWindow, since: date | None = None) -> Select[Any]:
    return select(weekly_c.week, weekly_c.installations.label("active")).where(
        weekly_c.dimension == "active",
        weekly_c.week.between(window.since if since is None else since, window.until),
    )


async def window_totals(connection: AsyncConnection, window: WeekWindow) -> tuple[int, int]:
    """(active installations, their printers) of the active window."""
    statement = select(
        func.coalesce(func.sum(window_c.installations), 0),
        func.coalesce(func.sum(window_c.amount), 0),
    ).where(window_c.dimension == "active", window_c.until_week == window.until)
    active, printers = (await connection.execute(statement)).one()
    return int(active), int(printers)


def renamed(found: list[dict[str, Any]], **names: str) -> list[dict[str, Any]]:
    """Rows with `key1` / `key2` / `amount` given their meaning (`names`: new name → column)."""
    return [{**row, **{new: row[old] for new, old in names.items()}} for row in found]
