"""Pure functions that turn latest-state rows into the summary maintainers see."""

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any


def printer_type_totals(rows: Iterable[Mapping[str, int]]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for counts in rows:
        totals.update(counts)
    return dict(sorted(totals.items()))


def summary(
    submissions: int,
    installations: list[Mapping[str, Any]],
) -> dict[str, Any]:
    def by(column: str) -> dict[str, int]:
        counter = Counter(str(row[column]) for row in installations if row[column] is not None)
        return dict(sorted(counter.items()))

    return {
        "installations": len(installations),
        "submissions": submissions,
        "printers": sum(int(row["printer_count"]) for row in installations),
        "installations_by_country": by("country_code"),
        "installations_by_schema_version": by("schema_version"),
        "installations_by_deployment_mode": by("deployment_mode"),
        "installations_by_data_source": by("data_source"),
        "printers_by_type": printer_type_totals(
            row["printer_type_counts"] for row in installations
        ),
    }
