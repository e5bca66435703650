"""Pure: GET /stats/summary from the kept totals (summary_totals.py) and the stored submissions."""

from collections.abc import Iterable, Mapping
from typing import Any


def summary(submissions: int, totals: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """`totals`: rows of `summary_totals` (dimension, key, installations, printers)."""
    rows = list(totals)
    by: dict[str, dict[str, int]] = {}
    for row in rows:
        value = int(row["printers" if row["dimension"] == "printer_type" else "installations"])
        by.setdefault(str(row["dimension"]), {})[str(row["key"])] = value
    everything = {row["dimension"]: row for row in rows if row["dimension"] == "all"}

    def sorted_by(dimension: str) -> dict[str, int]:
        return dict(sorted(by.get(dimension, {}).items()))

    return {
        "installations": int(everything["all"]["installations"]) if everything else 0,
        "submissions": submissions,
        "printers": int(everything["all"]["printers"]) if everything else 0,
        "installations_by_country": sorted_by("country"),
        "installations_by_schema_version": sorted_by("schema_version"),
        "installations_by_deployment_mode": sorted_by("deployment_mode"),
        "installations_by_data_source": sorted_by("data_source"),
        "printers_by_type": sorted_by("printer_type"),
    }
