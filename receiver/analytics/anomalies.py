"""Pure: GET /stats/anomalies — weeks that stand out from a robust baseline, and versions that fail
far more often than the version before them.

Weekly figures (active installations, errors per active installation, stored submissions) are compared
with the median of the `BASELINE_WEEKS` weeks before; the spread is the median absolute deviation
(scaled by 1.4826 to match a standard deviation for normal noise), floored so that a perfectly flat
history does not turn every wobble into an anomaly. Both a large score and a large relative change
are needed, so normal weekly noise stays silent. Versions are compared with a two-proportion z-test.
"""

import itertools
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from receiver.analytics.reliability import iso_week
from receiver.analytics.version_order import version_key
from receiver.analytics.week_window import WEEK, WeekWindow

BASELINE_WEEKS = 8
MIN_BASELINE_WEEKS = 4
THRESHOLD = 4.0
MIN_DROP = 0.2  # active installations: at least 20 % fewer than the baseline
MIN_RISE = 0.5  # errors per installation, submissions: at least 50 % more
MAD_SCALE = 1.4826
SETTLE_TIME = timedelta(days=2)  # weekly reports arrive within a day after the week; allow two
MIN_VERSION_JOBS = 30
MIN_FAILURE_RATIO = 1.5
MIN_FAILURE_DIFFERENCE = 0.05


@dataclass(frozen=True, slots=True)
class Baseline:
    median: float
    scale: float


def baseline(history: Sequence[float], floor: Callable[[float], float]) -> Baseline:
    median = statistics.median(history)
    mad = statistics.median(abs(value - median) for value in history)
    return Baseline(median, max(MAD_SCALE * mad, floor(median)))


def count_floor(median: float) -> float:
    """A spread of at least 2 % of the median (and 1), so a perfectly flat history still tolerates
    the usual wobble."""
    return max(0.02 * abs(median), 1.0)


def rate_floor(median: float) -> float:
    return max(0.05 * abs(median), 0.01)


def severity(score: float) -> str:
    return "critical" if score >= 2 * THRESHOLD else "warning"


def _percent(value: float) -> str:
    return f"{100 * value:.0f} %"


@dataclass(frozen=True, slots=True)
class SeriesRule:
    kind: str
    rising: bool  # True: fires above the baseline; False: below
    min_relative: float  # the least relative change that matters, whatever the score
    floor: Callable[[float], float]
    describe: Callable[[str, float, Baseline, int], str]


def _describe_drop(week: str, value: float, base: Baseline, weeks: int) -> str:
    fall = (base.median - value) / base.median
    return (
        f"Active installations fell to {value:.0f} in {week}, {_percent(fall)} below the median "
        f"of the {weeks} weeks before ({base.median:.0f})."
    )


def _describe_error_rate(week: str, value: float, base: Baseline, weeks: int) -> str:
    return (
        f"Errors per active installation rose to {value:.2f} in {week}, against a median of "
        f"{base.median:.2f} over the {weeks} weeks before."
    )


def _describe_surge(week: str, value: float, base: Baseline, weeks: int) -> str:
    return (
        f"{value:.0f} submissions were stored for {week}, against a median of {base.median:.0f} "
        f"over the {weeks} weeks before."
    )


RULES = {
    "active_drop": SeriesRule("active_drop", False, MIN_DROP, count_floor, _describe_drop),
    "error_rate_spike": SeriesRule(
        "error_rate_spike", True, MIN_RISE, rate_floor, _describe_error_rate
    ),
    "submission_surge": SeriesRule(
        "submission_surge", True, MIN_RISE, count_floor, _describe_surge
    ),
}


def series_anomalies(
    rule: SeriesRule,
    values: Mapping[date, float],
    evaluated: Iterable[date],
    first_data: date | None,
) -> list[dict[str, Any]]:
    """Each evaluated week whose value is far from the baseline of the weeks before it."""
    found = []
    for monday in evaluated:
        if monday not in values or first_data is None:
            continue
        history = [
            value
            for back in range(1, BASELINE_WEEKS + 1)
            if monday - back * WEEK >= first_data
            and (value := values.get(monday - back * WEEK)) is not None
        ]
        if len(history) < MIN_BASELINE_WEEKS:
            continue
        base = baseline(history, rule.floor)
        value = values[monday]
        deviation = value - base.median if rule.rising else base.median - value
        score = deviation / base.scale
        relative = deviation / abs(base.median) if base.median else math.inf
        if score < THRESHOLD or relative < rule.min_relative:
            continue
        week = iso_week(monday)
        found.append(
            {
                "kind": rule.kind,
                "week": week,
                "severity": severity(score),
                "subject": None,
                "value": value,
                "baseline": base.median,
                "deviation": deviation,
                "score": score,
                "threshold": THRESHOLD,
                "explanation": rule.describe(week, value, base, len(history)),
                "details": {"history": history},
            }
        )
    return found


def two_proportion_z(failed: int, jobs: int, failed_before: int, jobs_before: int) -> float:
    pooled = (failed + failed_before) / (jobs + jobs_before)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / jobs + 1 / jobs_before))
    if spread == 0:
        return 0.0
    return (failed / jobs - failed_before / jobs_before) / spread


def version_anomalies(week: str, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each version whose failure rate is far above the previous version's (same product) with
    enough decided jobs."""
    by_product: dict[str, list[tuple[str, int, int]]] = {}
    for row in rows:
        decided = int(row["completed"] or 0) + int(row["failed"] or 0) + int(row["cancelled"] or 0)
        if decided >= MIN_VERSION_JOBS:
            by_product.setdefault(str(row["product"]), []).append(
                (str(row["app_version"]), int(row["failed"] or 0), decided)
            )
    found = []
    for product, versions in sorted(by_product.items()):
        versions.sort(key=lambda entry: version_key(entry[0]))
        for (old, old_failed, old_jobs), (new, failed, jobs) in itertools.pairwise(versions):
            rate, old_rate = failed / jobs, old_failed / old_jobs
            score = two_proportion_z(failed, jobs, old_failed, old_jobs)
            if (
                score < THRESHOLD
                or rate < MIN_FAILURE_RATIO * old_rate
                or rate - old_rate < MIN_FAILURE_DIFFERENCE
            ):
                continue
            found.append(
                {
                    "kind": "version_failure_rate",
                    "week": week,
                    "severity": severity(score),
                    "subject": f"{product} {new}",
                    "value": rate,
                    "baseline": old_rate,
                    "deviation": rate - old_rate,
                    "score": score,
                    "threshold": THRESHOLD,
                    "explanation": (
                        f"Version {new} ({product}) failed {_percent(rate)} of {jobs} decided jobs, "
                        f"against {_percent(old_rate)} of {old_jobs} for {old} before it."
                    ),
                    "details": {
                        "jobs": jobs,
                        "failed": failed,
                        "previous_version": old,
                        "previous_jobs": old_jobs,
                        "previous_failed": old_failed,
                    },
                }
            )
    return found


def settled_weeks(window: WeekWindow, now: datetime) -> list[date]:
    """The weeks of the range whose reports have had time to arrive."""
    return [
        monday
        for monday in window.mondays()
        if datetime.combine(monday + WEEK, datetime.min.time(), tzinfo=now.tzinfo) + SETTLE_TIME
        <= now
    ]


def anomalies_answer(
    window: WeekWindow, now: datetime, inputs: Mapping[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """`inputs` (anomalies_sql.py): `active`, `errors`, `submissions` per week, `versions`."""
    active = {row["week"]: float(row["active"]) for row in inputs["active"]}
    errors = {row["week"]: float(row["errors"] or 0) for row in inputs["errors"]}
    submitted = {row["week"]: float(row["submissions"]) for row in inputs["submissions"]}
    error_rate = {week: errors.get(week, 0.0) / count for week, count in active.items() if count}
    first_data = min(active, default=None)
    evaluated = settled_weeks(window, now)
    # weeks without any report inside the data's span count as 0 active installations
    active_filled = (
        {monday: active.get(monday, 0.0) for monday in _mondays(first_data, window.until)}
        if first_data is not None
        else {}
    )
    found = [
        *series_anomalies(RULES["active_drop"], active_filled, evaluated, first_data),
        *series_anomalies(RULES["error_rate_spike"], error_rate, evaluated, first_data),
        *series_anomalies(RULES["submission_surge"], submitted, evaluated, first_data),
    ]
    # a failure rate does not depend on how many reports have arrived yet: always compared
    found += version_anomalies(iso_week(window.until), inputs["versions"])
    found.sort(key=lambda entry: (entry["week"], entry["score"]), reverse=True)
    return {**window.header(), "anomalies": found}


def _mondays(first: date, last: date) -> list[date]:
    count = (last - first).days // 7 + 1
    return [first + index * WEEK for index in range(max(count, 0))]
