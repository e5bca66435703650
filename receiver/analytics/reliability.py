"""Pure parts of GET /stats/reliability: the week range, the Wilson interval and one answer per model.

The sums come from SQL (reliability_sql.py) as whole numbers (hours and metres in hundredths); the
ratios are taken here, so SQLite and PostgreSQL give identical answers.
"""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from receiver.errors import ApiError

MAX_WEEKS = 105  # two years and a week: the default retention (730 days) fits
DEFAULT_WEEKS = 12
TOP_ERROR_CODES = 5
Z_95 = 1.959963984540054  # two-sided 95 % quantile of the normal distribution
_ISO_WEEK = re.compile(r"\A([0-9]{4})-W([0-9]{2})\Z")


@dataclass(frozen=True, slots=True)
class WeekRange:
    """ISO weeks `since` … `until` (both inclusive), each given by its Monday."""

    since: date
    until: date

    @property
    def weeks(self) -> int:
        return (self.until - self.since).days // 7 + 1


def iso_week(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _bad_parameter(name: str, problem: str, message: str) -> ApiError:
    return ApiError(
        400, "invalid_parameter", message, [{"field": f"query.{name}", "problem": problem}]
    )


def parse_week(name: str, value: str) -> date:
    match = _ISO_WEEK.match(value)
    try:
        if match is None:
            raise ValueError(value)
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise _bad_parameter(
            name, "not an ISO week", f"{name} must be an ISO week like 2026-W46"
        ) from None


def week_range(since_week: str | None, until_week: str | None, now: datetime) -> WeekRange:
    """Validate the query; by default the last `DEFAULT_WEEKS` complete ISO weeks before `now`."""
    today = now.date()
    this_monday = today - timedelta(days=today.weekday())
    until = (
        this_monday - timedelta(weeks=1)
        if until_week is None
        else parse_week("until_week", until_week)
    )
    since = (
        until - timedelta(weeks=DEFAULT_WEEKS - 1)
        if since_week is None
        else parse_week("since_week", since_week)
    )
    if until < since:
        raise _bad_parameter(
            "until_week", "before since_week", "until_week must not be before since_week"
        )
    weeks = WeekRange(since, until)
    if weeks.weeks > MAX_WEEKS:
        raise _bad_parameter(
            "since_week",
            f"range longer than {MAX_WEEKS} weeks",
            f"the range may cover at most {MAX_WEEKS} ISO weeks; ask for less",
        )
    return weeks


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion: honest for small numbers (1 of 1 is not 100 %)."""
    if trials == 0:
        return None
    share = successes / trials
    spread = z * z / trials
    centre = (share + spread / 2) / (1 + spread)
    half = z * math.sqrt(share * (1 - share) / trials + spread / (4 * trials)) / (1 + spread)
    return max(0.0, centre - half), min(1.0, centre + half)


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def model_reliability(
    usage: Mapping[str, Any] | None,
    error_total: int,
    top_codes: Sequence[tuple[str, int]],
    weeks: int,
) -> dict[str, Any]:
    """The answer for one (family, model) from its SQL sums (`usage` None: it only had errors)."""
    sums: Mapping[str, Any] = usage or {}

    def total(name: str) -> int:
        return int(sums.get(name) or 0)

    completed, failed, cancelled = (
        total("jobs_completed"),
        total("jobs_failed"),
        total("jobs_cancelled"),
    )
    decided = completed + failed + cancelled
    interval = wilson_interval(completed, decided)
    printer_weeks = total("printer_weeks")
    print_centihours = total("print_centihours")
    filament_reports = total("filament_reports")
    return {
        "installations": total("installations"),
        "installation_weeks": total("installation_weeks"),
        "printer_weeks": printer_weeks,
        "active_printer_weeks": total("active_printer_weeks"),
        "average_printers": printer_weeks / weeks,
        "jobs": {
            "started": total("jobs_started"),
            "completed": completed,
            "failed": failed,
            "cancelled": cancelled,
            "ended_without_outcome": total("jobs_ended_without_outcome"),
        },
        "success_rate": _ratio(completed, decided),
        "success_rate_95": None if interval is None else {"low": interval[0], "high": interval[1]},
        "print_hours": print_centihours / 100,
        "paused_hours": total("paused_centihours") / 100,
        "filament_m": total("filament_cm") / 100 if filament_reports else None,
        "print_hours_per_printer_week": _ratio(print_centihours / 100, printer_weeks),
        "errors": error_total,
        "errors_per_100_print_hours": _ratio(100 * error_total, print_centihours / 100),
        "top_error_codes": [{"code": code, "count": count} for code, count in top_codes],
    }


def reliability_answer(
    weeks: WeekRange,
    usage_rows: Sequence[Mapping[str, Any]],
    code_rows: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """One entry per (family, model) seen in the range, most printer-weeks first."""
    usage = {(str(row["family"]), str(row["model"])): row for row in usage_rows}
    error_totals: dict[tuple[str, str], int] = {}
    top_codes: dict[tuple[str, str], list[tuple[int, str, int]]] = {}
    for row in code_rows:
        key = (str(row["family"]), str(row["model"]))
        error_totals[key] = int(row["model_errors"])
        top_codes.setdefault(key, []).append(
            (int(row["rank"]), str(row["code"]), int(row["count"]))
        )
    entries = [
        {
            "family": family,
            "model": model,
            **model_reliability(
                usage.get((family, model)),
                error_totals.get((family, model), 0),
                [(code, count) for _, code, count in sorted(top_codes.get((family, model), []))],
                weeks.weeks,
            ),
        }
        for family, model in usage.keys() | error_totals.keys()
    ]
    entries.sort(key=lambda entry: (-entry["printer_weeks"], entry["family"], entry["model"]))
    return {
        "since_week": iso_week(weeks.since),
        "until_week": iso_week(weeks.until),
        "weeks": weeks.weeks,
        "models": entries,
    }
