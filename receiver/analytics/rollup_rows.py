"""Pure: what one stored submission contributes to the analytics rollups.

The rollups hold, per installation and ISO week, the one submission that counts for the week as plain
columns (`installation_weeks`) plus its printers per model, enabled features and error counts. Hours
and metres are whole hundredths, so sums are exact integers on SQLite and PostgreSQL alike.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

LEGACY_SCHEMA = "1.0"
PRODUCT_PRINTERNIZER = "printernizer"  # schema 1.0: the Printernizer app itself
PRODUCT_INTEGRATION = "integration"  # schema 1.1 and later: the Home Assistant integration
UNKNOWN_MODEL = "unknown"
TOTAL_ERRORS = "total_errors"
OUTCOME_COLUMNS = (
    "jobs_started",
    "jobs_completed",
    "jobs_failed",
    "jobs_cancelled",
    "jobs_ended_without_outcome",
)
MEASURE_COLUMNS = {
    "print_centihours": "print_hours",
    "paused_centihours": "paused_hours",
    "filament_cm": "filament_m",
}


def product_of(schema_version: str) -> str:
    return PRODUCT_PRINTERNIZER if schema_version == LEGACY_SCHEMA else PRODUCT_INTEGRATION


def centi(value: float) -> int:
    """Hours or metres as whole hundredths (clients send at most 2 decimals)."""
    return round(value * 100)


@dataclass(frozen=True, slots=True)
class WeekRollup:
    """One submission as the rows it would be in the rollups, were it its week's counted one."""

    installation_id: str
    week: date
    submission_id: int
    period_end: datetime
    row: dict[str, Any]
    printers: list[dict[str, Any]] = field(default_factory=list)
    features: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, date]:
        return self.installation_id, self.week

    def beats(self, other: WeekRollup) -> bool:
        """Which of two submissions of one installation and week counts: latest end, then newest id."""
        return (self.period_end, self.submission_id) > (other.period_end, other.submission_id)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _counts(value: object) -> dict[str, int]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool)}


def error_total(error_summary: Mapping[str, int]) -> int:
    """`total_errors` when sent, else the sum of the other counts (1.0 clients may send only types)."""
    if TOTAL_ERRORS in error_summary:
        return error_summary[TOTAL_ERRORS]
    return sum(error_summary.values())


def printer_rows(fleet: Mapping[str, Any]) -> dict[tuple[str, str], int]:
    """Printers per (family, model): `printer_model_counts` when sent, else the family counts with
    model `unknown` (schema 1.0 knows no models)."""
    models = fleet.get("printer_model_counts")
    found: dict[tuple[str, str], int] = {}
    if isinstance(models, Mapping):
        for family, counts in models.items():
            for model, printers in _counts(counts).items():
                found[str(family), model] = printers
    else:
        for family, printers in _counts(fleet.get("printer_type_counts")).items():
            found[family, UNKNOWN_MODEL] = printers
    return {key: printers for key, printers in found.items() if printers > 0}


def week_rollup(submission: Mapping[str, Any]) -> WeekRollup:
    """The rollup rows of one `submissions` row (with its stored `aggregate`)."""
    aggregate: Mapping[str, Any] = submission["aggregate"]
    usage: Mapping[str, Any] = aggregate.get("usage_stats") or {}
    fleet: Mapping[str, Any] = aggregate.get("printer_fleet") or {}
    summary = _counts(aggregate.get("error_summary"))
    installation_id = str(submission["installation_id"])
    week = submission["week_start"]
    key = {"installation_id": installation_id, "week": week}
    measures = {
        column: None if not isinstance(usage.get(name), int | float) else centi(usage[name])
        for column, name in MEASURE_COLUMNS.items()
    }
    row = {
        **key,
        "submission_id": int(submission["id"]),
        "period_end": submission["period_end"],
        "received_at": submission["received_at"],
        "schema_version": submission["schema_version"],
        "product": product_of(str(submission["schema_version"])),
        "app_version": str((aggregate.get("installation") or {}).get("app_version", "")),
        "deployment_mode": submission["deployment_mode"],
        "country_code": submission["country_code"],
        "printer_count": int(submission["printer_count"]),
        "job_count": int(submission["job_count"]),
        **{name: _int_or_none(usage.get(name)) for name in OUTCOME_COLUMNS},
        **measures,
        "errors": error_total(summary),
    }
    errors = [
        {**key, "kind": "type", "name": name, "count": count}
        for name, count in sorted(summary.items())
        if name != TOTAL_ERRORS and count > 0
    ] + [
        {**key, "kind": "code", "name": name, "count": count}
        for name, count in sorted(_counts(aggregate.get("errors_by_code")).items())
        if count > 0
    ]
    features = usage.get("feature_usage") or {}
    return WeekRollup(
        installation_id=installation_id,
        week=week,
        submission_id=row["submission_id"],
        period_end=row["period_end"],
        row=row,
        printers=[
            {**key, "family": family, "model": model, "printers": printers}
            for (family, model), printers in sorted(printer_rows(fleet).items())
        ],
        features=[
            {**key, "feature": str(name)}
            for name, enabled in sorted(features.items())
            if enabled is True
        ],
        errors=errors,
    )


def counted_per_week(rollups: list[WeekRollup]) -> list[WeekRollup]:
    """The submission that counts for each (installation, week) among `rollups`."""
    chosen: dict[tuple[str, date], WeekRollup] = {}
    for rollup in rollups:
        current = chosen.get(rollup.key)
        if current is None or rollup.beats(current):
            chosen[rollup.key] = rollup
    return list(chosen.values())
