"""Pure: GET /stats/errors — errors per week, by type and by code, with the week-over-week change."""

from collections.abc import Iterable, Mapping
from typing import Any

from receiver.analytics.distribution import ratio
from receiver.analytics.reliability import iso_week
from receiver.analytics.week_window import WeekWindow

TOP_CODES = 20


def change(last: int, previous: int) -> dict[str, Any]:
    return {
        "last_week": last,
        "previous_week": previous,
        "change": last - previous,
        "change_rate": ratio(last - previous, previous),
    }


def _entries(rows: Iterable[Mapping[str, Any]], label: str) -> list[dict[str, Any]]:
    entries = [
        {
            label: str(row["name"]),
            "count": int(row["count"]),
            **change(int(row["last_week"] or 0), int(row["previous_week"] or 0)),
        }
        for row in rows
    ]
    return sorted(entries, key=lambda entry: (-entry["count"], entry[label]))


def errors_answer(
    window: WeekWindow,
    weekly: Iterable[Mapping[str, Any]],
    named: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    by_week = {row["week"]: row for row in weekly}
    series: list[dict[str, Any]] = []
    for monday in window.mondays():
        row = by_week.get(monday)
        errors = int(row["errors"] or 0) if row else 0
        reporting = int(row["installations"]) if row else 0
        series.append(
            {
                "week": iso_week(monday),
                "errors": errors,
                "installations_reporting": reporting,
                "errors_per_installation": ratio(errors, reporting),
            }
        )
    rows_by_kind: dict[str, list[Mapping[str, Any]]] = {"type": [], "code": []}
    for row in named:
        rows_by_kind.setdefault(str(row["kind"]), []).append(row)
    last = series[-1]["errors"]
    previous = series[-2]["errors"] if len(series) > 1 else 0
    return {
        **window.header(),
        "total": sum(entry["errors"] for entry in series),
        **change(last, previous),
        "by_type": _entries(rows_by_kind["type"], "type"),
        "by_code": _entries(rows_by_kind["code"], "code")[:TOP_CODES],
        "series": series,
    }
