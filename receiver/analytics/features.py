"""Pure: GET /stats/features — adoption of each feature among active installations and per week."""

from collections.abc import Iterable, Mapping
from typing import Any

from receiver.analytics.distribution import active_by_week, ratio
from receiver.analytics.reliability import iso_week
from receiver.analytics.week_window import WeekWindow


def features_answer(
    window: WeekWindow,
    active: int,
    current: Iterable[Mapping[str, Any]],
    active_rows: Iterable[Mapping[str, Any]],
    weekly: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    now = {str(row["feature"]): int(row["installations"]) for row in current}
    per_week: dict[str, dict[Any, int]] = {}
    for row in weekly:
        per_week.setdefault(str(row["feature"]), {})[row["week"]] = int(row["installations"])
    active_weeks = active_by_week(active_rows)
    entries: list[dict[str, Any]] = []
    for feature in now.keys() | per_week.keys():
        counts = per_week.get(feature, {})
        series: list[dict[str, Any]] = [
            {
                "week": iso_week(monday),
                "installations": counts.get(monday, 0),
                "active": active_weeks.get(monday, 0),
                "adoption": ratio(counts.get(monday, 0), active_weeks.get(monday, 0)),
            }
            for monday in window.mondays()
        ]
        first, last = series[0]["adoption"], series[-1]["adoption"]
        entries.append(
            {
                "feature": feature,
                "installations": now.get(feature, 0),
                "adoption": ratio(now.get(feature, 0), active),
                "change": None if first is None or last is None else last - first,
                "series": series,
            }
        )
    entries.sort(key=lambda entry: (-entry["installations"], entry["feature"]))
    return {**window.header(), "active_installations": active, "features": entries}
