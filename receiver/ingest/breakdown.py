"""The per-model breakdown of schema 1.1 (`usage_by_model`, `errors_by_model`): the rules beyond the
types, and the rows it is stored as.

msgspec already enforces types and caps (schema.py). These rules need the whole payload: one item per
key, and a breakdown that never adds up to more than the fleet totals it breaks down. Each rule is a
small function that raises one 400 naming the first problem.
"""

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from receiver.errors import ApiError
from receiver.ingest.schema import ModelErrors, ModelUsage, Payload11, UsageStats11

# Counters of usage_by_model with a fleet total of the same name in usage_stats.
COUNTERS = (
    "active_printers",
    "jobs_started",
    "jobs_completed",
    "jobs_failed",
    "jobs_cancelled",
    "jobs_ended_without_outcome",
)
# Measures sent with 2 decimals: each item and the total are rounded on their own, so the sum of the
# items may exceed the rounded total by up to half a hundredth per item; 0.01 per item allows for it.
MEASURES = ("print_hours", "paused_hours", "filament_m")
ROUNDING_PER_ITEM = 0.01
_FLOAT_SLACK = 1e-9


def _invalid(message: str, field: str, problem: str) -> ApiError:
    return ApiError(400, "invalid_payload", message, [{"field": field, "problem": problem}])


def _first_duplicate[K](keys: Iterable[K]) -> tuple[int, K] | None:
    seen: set[K] = set()
    for index, key in enumerate(keys):
        if key in seen:
            return index, key
        seen.add(key)
    return None


def check_unique_models(items: Sequence[ModelUsage]) -> None:
    duplicate = _first_duplicate((item.family, item.model) for item in items)
    if duplicate is not None:
        index, (family, model) = duplicate
        raise _invalid(
            f"usage_by_model lists family {family!r}, model {model!r} more than once; "
            "send one item per (family, model)",
            f"$.usage_by_model[{index}]",
            "duplicate (family, model)",
        )


def check_unique_error_codes(items: Sequence[ModelErrors]) -> None:
    duplicate = _first_duplicate((item.family, item.model, item.code) for item in items)
    if duplicate is not None:
        index, (family, model, code) = duplicate
        raise _invalid(
            f"errors_by_model lists family {family!r}, model {model!r}, code {code!r} more than "
            "once; send one item per (family, model, code)",
            f"$.errors_by_model[{index}]",
            "duplicate (family, model, code)",
        )


def _above_total(name: str, total: int | float, breakdown: int | float) -> ApiError:
    return _invalid(
        f"the sum of usage_by_model[].{name} ({breakdown:g}) is larger than "
        f"usage_stats.{name} ({total:g}); the breakdown must not add up to more than the "
        "fleet total",
        f"$.usage_by_model[*].{name}",
        f"sum above usage_stats.{name}",
    )


def check_counters_within_totals(items: Sequence[ModelUsage], totals: UsageStats11) -> None:
    for name in COUNTERS:
        total = getattr(totals, name)
        if not isinstance(total, int):  # the fleet total was not sent
            continue
        breakdown = sum(getattr(item, name) for item in items)
        if breakdown > total:
            raise _above_total(name, total, breakdown)


def check_measures_within_totals(items: Sequence[ModelUsage], totals: UsageStats11) -> None:
    allowance = ROUNDING_PER_ITEM * len(items) + _FLOAT_SLACK
    for name in MEASURES:
        total = getattr(totals, name)
        if not isinstance(total, int | float):  # not sent, or null (no filament reported)
            continue
        values = [getattr(item, name) for item in items]
        breakdown = math.fsum(value for value in values if value is not None)
        if breakdown > total + allowance:
            raise _above_total(name, total, breakdown)


def check_errors_within_total(items: Sequence[ModelErrors], error_summary: dict[str, int]) -> None:
    total = error_summary.get("total_errors")
    if total is None:
        return
    breakdown = sum(item.count for item in items)
    if breakdown > total:
        raise _invalid(
            f"the sum of errors_by_model[].count ({breakdown}) is larger than "
            f"error_summary.total_errors ({total})",
            "$.errors_by_model[*].count",
            "sum above error_summary.total_errors",
        )


def usage_items(payload: Payload11) -> list[ModelUsage]:
    return payload.usage_by_model if isinstance(payload.usage_by_model, list) else []


def error_items(payload: Payload11) -> list[ModelErrors]:
    return payload.errors_by_model if isinstance(payload.errors_by_model, list) else []


def check_breakdown(payload: Payload11) -> None:
    """All breakdown rules; a payload without a breakdown passes untouched."""
    usage = usage_items(payload)
    errors = error_items(payload)
    check_unique_models(usage)
    check_unique_error_codes(errors)
    check_counters_within_totals(usage, payload.usage_stats)
    check_measures_within_totals(usage, payload.usage_stats)
    check_errors_within_total(errors, payload.error_summary)


def week_of(period_start: datetime, period_end: datetime) -> date:
    """The Monday of the ISO week a submission counts for: the week holding the middle of its period
    (for the integration's Monday-to-Monday weeks, the week that starts at period.start)."""
    middle = period_start + (period_end - period_start) / 2
    day = middle.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def centi(value: float) -> int:
    """Hours or metres as whole hundredths (the values are sent with 2 decimals)."""
    return round(value * 100)


def model_usage_rows(payload: Payload11) -> list[dict[str, Any]]:
    """usage_by_model as rows of `submission_models` (without submission_id and week)."""
    return [
        {
            "family": item.family,
            "model": item.model,
            "printers": item.printers,
            "active_printers": item.active_printers,
            "jobs_started": item.jobs_started,
            "jobs_completed": item.jobs_completed,
            "jobs_failed": item.jobs_failed,
            "jobs_cancelled": item.jobs_cancelled,
            "jobs_ended_without_outcome": item.jobs_ended_without_outcome,
            "print_centihours": centi(item.print_hours),
            "paused_centihours": centi(item.paused_hours),
            "filament_cm": None if item.filament_m is None else centi(item.filament_m),
        }
        for item in usage_items(payload)
    ]


def model_error_rows(payload: Payload11) -> list[dict[str, Any]]:
    """errors_by_model as rows of `submission_model_errors` (without submission_id and week)."""
    return [
        {"family": item.family, "model": item.model, "code": item.code, "count": item.count}
        for item in error_items(payload)
    ]
