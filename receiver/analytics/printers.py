"""Pure: GET /stats/printers — fleet size of active installations (by their latest report), its
histogram, printers by family and model, and printers per week."""

from collections.abc import Iterable, Mapping
from typing import Any

from receiver.analytics.distribution import ratio
from receiver.analytics.reliability import iso_week
from receiver.analytics.week_window import WeekWindow

# (label, smallest, largest or None) — the fleet-size buckets, also used in SQL (printers_sql.py)
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0", 0, 0),
    ("1", 1, 1),
    ("2", 2, 2),
    ("3-4", 3, 4),
    ("5-9", 5, 9),
    ("10-19", 10, 19),
    ("20+", 20, None),
)


def histogram(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    found = {str(row["bucket"]): int(row["installations"]) for row in rows}
    return [
        {"bucket": label, "min": low, "max": high, "installations": found.get(label, 0)}
        for label, low, high in BUCKETS
    ]


def _models(
    rows: Iterable[Mapping[str, Any]], names: tuple[str, ...], active: int
) -> list[dict[str, Any]]:
    entries = [
        {
            **{name: row[name] for name in names},
            "printers": int(row["printers"]),
            "installations": int(row["installations"]),
            "share": ratio(int(row["installations"]), active),
        }
        for row in rows
    ]
    entries.sort(key=lambda e: (-e["printers"], -e["installations"], *(str(e[n]) for n in names)))
    return entries


def printers_answer(window: WeekWindow, figures: Mapping[str, Any]) -> dict[str, Any]:
    """`figures` (printers_sql.py): `fleet` sums, `buckets`, `families`, `models`, `weekly` rows."""
    fleet = figures["fleet"]
    active = int(fleet["installations"])
    total = int(fleet["printers"] or 0)
    by_week = {row["week"]: row for row in figures["weekly"]}
    series = []
    for monday in window.mondays():
        row = by_week.get(monday)
        week_active = int(row["active"]) if row else 0
        week_printers = int(row["printers"] or 0) if row else 0
        series.append(
            {
                "week": iso_week(monday),
                "active": week_active,
                "printers": week_printers,
                "average": ratio(week_printers, week_active),
            }
        )
    return {
        **window.header(),
        "active_installations": active,
        "total": total,
        "average": ratio(total, active),
        "histogram": histogram(figures["buckets"]),
        "by_family": _models(figures["families"], ("family",), active),
        "by_model": _models(figures["models"], ("family", "model"), active),
        "series": series,
    }
