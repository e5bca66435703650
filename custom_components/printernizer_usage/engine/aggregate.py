"""Weekly aggregation from the daily rollups and run-time sessions, and the `WeekSummary` for sensors."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .timeutil import WEEK, as_utc, week_start


@dataclass(frozen=True, slots=True)
class WeekAggregate:
    """Everything measured in one period (an ISO week, or the current week so far)."""

    period_start: datetime
    period_end: datetime
    fleet: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # family -> model -> count
    jobs_started: int = 0
    jobs_completed: int = 0
    jobs_failed: int = 0
    jobs_cancelled: int = 0
    print_seconds: float = 0.0
    online_seconds: float = 0.0
    uptime_seconds: float = 0.0
    errors_by_code: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (family, code)
    errors_by_severity: Mapping[str, int] = field(default_factory=dict)

    @property
    def printer_count(self) -> int:
        return sum(sum(models.values()) for models in self.fleet.values())

    @property
    def total_errors(self) -> int:
        return sum(self.errors_by_severity.values())


@dataclass(frozen=True, slots=True)
class WeekSummary:
    """What the sensors show for the current ISO week so far."""

    period_start: datetime
    period_end: datetime
    jobs_started: int
    jobs_completed: int
    jobs_failed: int
    jobs_cancelled: int
    success_rate: (
        float | None
    )  # completed / (completed + failed + cancelled), 0..1; None without outcomes
    errors: int
    errors_by_severity: dict[str, int]
    uptime_hours: float
    print_hours: float
    printer_online_hours: float
    printers_total: int
    printers_by_family: dict[str, int]
    printers_by_model: dict[str, dict[str, int]]


def week_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """The ISO week (Monday 00:00 UTC .. next Monday) containing `moment`."""
    start = week_start(as_utc(moment))
    return start, start + WEEK


def success_rate(completed: int, failed: int, cancelled: int) -> float | None:
    finished = completed + failed + cancelled
    return None if finished == 0 else completed / finished


def summarize(aggregate: WeekAggregate) -> WeekSummary:
    """The sensor view of an aggregate."""
    return WeekSummary(
        period_start=aggregate.period_start,
        period_end=aggregate.period_end,
        jobs_started=aggregate.jobs_started,
        jobs_completed=aggregate.jobs_completed,
        jobs_failed=aggregate.jobs_failed,
        jobs_cancelled=aggregate.jobs_cancelled,
        success_rate=success_rate(
            aggregate.jobs_completed, aggregate.jobs_failed, aggregate.jobs_cancelled
        ),
        errors=aggregate.total_errors,
        errors_by_severity=dict(sorted(aggregate.errors_by_severity.items())),
        uptime_hours=round(aggregate.uptime_seconds / 3600, 2),
        print_hours=round(aggregate.print_seconds / 3600, 2),
        printer_online_hours=round(aggregate.online_seconds / 3600, 2),
        printers_total=aggregate.printer_count,
        printers_by_family={
            family: sum(models.values()) for family, models in sorted(aggregate.fleet.items())
        },
        printers_by_model={
            family: dict(sorted(models.items()))
            for family, models in sorted(aggregate.fleet.items())
        },
    )
