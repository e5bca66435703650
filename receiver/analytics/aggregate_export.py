"""Pure: the weekly aggregates as tidy rows (week, metric, key, value) for GET /stats/export/aggregates,
taken from the answers of the analytics endpoints (so the numbers are theirs), as JSON or CSV."""

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

COLUMNS = ("week", "metric", "key", "value")
_JOB_METRICS = {
    "installation_weeks": "job_reports",
    "started": "jobs_started",
    "completed": "jobs_completed",
    "failed": "jobs_failed",
    "cancelled": "jobs_cancelled",
    "ended_without_outcome": "jobs_ended_without_outcome",
    "print_hours": "print_hours",
    "paused_hours": "paused_hours",
    "filament_m": "filament_m",
}
# A spreadsheet would run a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _row(week: str, metric: str, key: str, value: Any) -> dict[str, Any]:
    return {"week": week, "metric": metric, "key": key, "value": value}


def _distribution(
    series: list[Mapping[str, Any]], plural: str, metric: str, *names: str
) -> Iterator[dict[str, Any]]:
    for week in series:
        for entry in week[plural]:
            key = " ".join(str(entry[name]) for name in names)
            yield _row(week["week"], metric, key, entry["installations"])


def aggregate_rows(answers: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for week in answers["installations"]["series"]:
        rows += [
            _row(week["week"], "active_installations", "", week["active"]),
            _row(week["week"], "new_installations", "", week["new"]),
            _row(week["week"], "gone_quiet_installations", "", week["gone_quiet"]),
        ]
    rows += _distribution(
        answers["versions"]["series"], "versions", "version_installations", "product", "version"
    )
    rows += _distribution(
        answers["deployment_modes"]["series"], "modes", "deployment_mode_installations", "mode"
    )
    rows += _distribution(
        answers["countries"]["series"], "countries", "country_installations", "country"
    )
    rows += [_row(w["week"], "printers", "", w["printers"]) for w in answers["printers"]["series"]]
    for feature in answers["features"]["features"]:
        rows += [
            _row(w["week"], "feature_installations", feature["feature"], w["installations"])
            for w in feature["series"]
        ]
    for week in answers["jobs"]["series"]:
        rows += [
            _row(week["week"], metric, "", week[name])
            for name, metric in _JOB_METRICS.items()
            if week[name] is not None
        ]
    for week in answers["errors"]["series"]:
        rows += [
            _row(week["week"], "errors", "", week["errors"]),
            _row(
                week["week"], "error_reporting_installations", "", week["installations_reporting"]
            ),
        ]
    return rows


def csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        value = row["value"]
        writer.writerow(
            [
                csv_cell(row["week"]),
                csv_cell(row["metric"]),
                csv_cell(row["key"]),
                value if isinstance(value, int | float) else csv_cell(value),
            ]
        )
    return out.getvalue()
