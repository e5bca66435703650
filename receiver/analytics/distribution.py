"""Pure: shares of active installations per value (versions, modes, countries) and their weekly series.

A share is always divided by *all* active installations, so the listed shares need not add up to 1
when some values are left out (the public endpoint's small buckets)."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from receiver.analytics.reliability import iso_week
from receiver.analytics.week_window import WeekWindow

type Row = Mapping[str, Any]


def ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def by_count(entry: Mapping[str, Any], names: Sequence[str]) -> tuple[Any, ...]:
    return (-entry["installations"], *(str(entry[name]) for name in names))


type Order = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def shares(
    rows: Iterable[Row], names: Sequence[str], active: int, order: Order | None = None
) -> list[dict[str, Any]]:
    """`{name…, installations, share}` per row; most installations first unless `order` sorts."""
    entries = [
        {
            **{name: row[name] for name in names},
            "installations": int(row["installations"]),
            "share": ratio(int(row["installations"]), active),
        }
        for row in rows
    ]
    if order is not None:
        return order(entries)
    return sorted(entries, key=lambda entry: by_count(entry, names))


def per_week(rows: Iterable[Row]) -> dict[date, list[Row]]:
    grouped: dict[date, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row["week"], []).append(row)
    return grouped


def active_by_week(rows: Iterable[Row]) -> dict[date, int]:
    return {row["week"]: int(row["active"]) for row in rows}


def weekly_shares(
    window: WeekWindow,
    active_rows: Iterable[Row],
    value_rows: Iterable[Row],
    *,
    names: Sequence[str],
    plural: str,
    order: Order | None = None,
) -> list[dict[str, Any]]:
    """One entry per week of the range (weeks without reports included, with `active` 0)."""
    active = active_by_week(active_rows)
    values = per_week(value_rows)
    return [
        {
            "week": iso_week(monday),
            "active": active.get(monday, 0),
            plural: shares(values.get(monday, []), names, active.get(monday, 0), order),
        }
        for monday in window.mondays()
    ]
