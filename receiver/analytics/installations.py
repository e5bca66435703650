"""Pure: GET /stats/installations from its SQL counts (installations_sql.py)."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from receiver.analytics.distribution import active_by_week, ratio
from receiver.analytics.reliability import iso_week
from receiver.analytics.week_window import WEEK, WeekWindow


def least_squares_slope(values: Sequence[float]) -> float | None:
    """The slope of the least-squares line through (0, v0), (1, v1), …; None for fewer than 2 points."""
    count = len(values)
    if count < 2:
        return None
    mean_x = (count - 1) / 2
    mean_y = sum(values) / count
    spread = sum((x - mean_x) ** 2 for x in range(count))
    return sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values)) / spread


def growth(active: Sequence[int]) -> dict[str, Any]:
    first, last = active[0], active[-1]
    return {
        "first": first,
        "last": last,
        "change": last - first,
        "change_rate": ratio(last - first, first),
        "weekly_slope": least_squares_slope([float(value) for value in active]),
    }


def _counts(rows: Iterable[Mapping[str, Any]], column: str) -> dict[date, int]:
    return {row[column]: int(row["installations"]) for row in rows}


def installations_answer(
    window: WeekWindow,
    totals: Mapping[str, int],
    active_rows: Iterable[Mapping[str, Any]],
    first_rows: Iterable[Mapping[str, Any]],
    last_rows: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    active = active_by_week(active_rows)
    new = _counts(first_rows, "first_week")
    last_seen = _counts(last_rows, "last_week")
    series: list[dict[str, Any]] = [
        {
            "week": iso_week(monday),
            "week_start": monday.isoformat(),
            "active": active.get(monday, 0),
            "new": new.get(monday, 0),
            "gone_quiet": last_seen.get(monday - WEEK, 0),
        }
        for monday in window.mondays()
    ]
    return {
        **window.header(),
        "total": int(totals["total"]),
        "active_7d": int(totals["active_7d"]),
        "active_30d": int(totals["active_30d"]),
        "series": series,
        "growth": growth([entry["active"] for entry in series]),
    }
