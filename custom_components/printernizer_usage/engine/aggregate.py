"""Weekly aggregation from the daily rollups and run-time sessions, and the `WeekSummary` for sensors."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from .timeutil import WEEK, as_utc, week_start


class JobFigures(NamedTuple):
    """What one printer, or all printers of a (family, model), did in a period."""

    jobs_started: int = 0
    jobs_completed: int = 0
    jobs_failed: int = 0
    jobs_cancelled: int = 0
    jobs_ended_without_outcome: int = 0
    print_seconds: float = 0.0
    paused_seconds: float = 0.0
    online_seconds: float = 0.0
    filament_m: float | None = None  # None: no job of theirs reported filament
    errors: int = 0

    @property
    def active(self) -> bool:
        """It printed in the period (a job started, or print time was credited)."""
        return self.jobs_started > 0 or self.print_seconds > 0

    def plus(self, other: JobFigures) -> JobFigures:
        """The sum of both (filament stays None only if neither reported any)."""
        filament = (
            None
            if self.filament_m is None and other.filament_m is None
            else (self.filament_m or 0.0) + (other.filament_m or 0.0)
        )
        return JobFigures(
            jobs_started=self.jobs_started + other.jobs_started,
            jobs_completed=self.jobs_completed + other.jobs_completed,
            jobs_failed=self.jobs_failed + other.jobs_failed,
            jobs_cancelled=self.jobs_cancelled + other.jobs_cancelled,
            jobs_ended_without_outcome=self.jobs_ended_without_outcome
            + other.jobs_ended_without_outcome,
            print_seconds=self.print_seconds + other.print_seconds,
            paused_seconds=self.paused_seconds + other.paused_seconds,
            online_seconds=self.online_seconds + other.online_seconds,
            filament_m=filament,
            errors=self.errors + other.errors,
        )


def total(figures: Iterable[JobFigures]) -> JobFigures:
    result = JobFigures()
    for item in figures:
        result = result.plus(item)
    return result


@dataclass(frozen=True, slots=True)
class PrinterFigures:
    """One printer's figures in a period, with what it is (never a name)."""

    family: str
    model: str
    figures: JobFigures


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
    jobs_ended_without_outcome: int = 0
    print_seconds: float = 0.0  # printing only: paused time is `paused_seconds`
    paused_seconds: float = 0.0
    online_seconds: float = 0.0
    filament_m: float | None = None
    active_printers: int = 0
    uptime_seconds: float = 0.0
    errors_by_code: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (family, code)
    errors_by_severity: Mapping[str, int] = field(default_factory=dict)
    by_printer: Mapping[str, PrinterFigures] = field(default_factory=dict)  # by printer key
    by_model: Mapping[tuple[str, str], JobFigures] = field(default_factory=dict)
    errors_by_model: Mapping[tuple[str, str, str], int] = field(default_factory=dict)

    @property
    def printer_count(self) -> int:
        return sum(sum(models.values()) for models in self.fleet.values())

    @property
    def total_errors(self) -> int:
        return sum(self.errors_by_severity.values())


ErrorRow = tuple[str, str, str, str, int]  # family, model, code, severity, count


def build_aggregate(
    start: datetime,
    end: datetime,
    *,
    fleet: Mapping[str, Mapping[str, int]],
    printers: Mapping[str, PrinterFigures],
    errors: Iterable[ErrorRow],
    uptime_seconds: float,
) -> WeekAggregate:
    """The period's aggregate from per-printer figures: every total is the sum of its breakdown."""
    by_model: dict[tuple[str, str], JobFigures] = {}
    for printer in printers.values():
        key = (printer.family, printer.model)
        by_model[key] = by_model.get(key, JobFigures()).plus(printer.figures)
    errors_by_code: dict[tuple[str, str], int] = {}
    errors_by_severity: dict[str, int] = {}
    errors_by_model: dict[tuple[str, str, str], int] = {}
    for family, model, code, severity, count in errors:
        errors_by_code[family, code] = errors_by_code.get((family, code), 0) + count
        errors_by_severity[severity] = errors_by_severity.get(severity, 0) + count
        errors_by_model[family, model, code] = errors_by_model.get((family, model, code), 0) + count
    fleet_total = total(by_model.values())
    return WeekAggregate(
        period_start=start,
        period_end=end,
        fleet=fleet,
        jobs_started=fleet_total.jobs_started,
        jobs_completed=fleet_total.jobs_completed,
        jobs_failed=fleet_total.jobs_failed,
        jobs_cancelled=fleet_total.jobs_cancelled,
        jobs_ended_without_outcome=fleet_total.jobs_ended_without_outcome,
        print_seconds=fleet_total.print_seconds,
        paused_seconds=fleet_total.paused_seconds,
        online_seconds=fleet_total.online_seconds,
        filament_m=fleet_total.filament_m,
        active_printers=sum(1 for p in printers.values() if p.figures.active),
        uptime_seconds=uptime_seconds,
        errors_by_code=errors_by_code,
        errors_by_severity=errors_by_severity,
        by_printer=dict(printers),
        by_model=dict(sorted(by_model.items())),
        errors_by_model=dict(sorted(errors_by_model.items())),
    )


@dataclass(frozen=True, slots=True)
class PrinterSummary:
    """One printer's week so far, for its per-printer sensors."""

    family: str
    model: str
    jobs_started: int
    jobs_completed: int
    jobs_failed: int
    jobs_cancelled: int
    jobs_ended_without_outcome: int
    success_rate: float | None
    print_hours: float
    paused_hours: float
    online_hours: float
    utilization: float | None
    filament_m: float | None
    errors: int


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def utilization(print_seconds: float, online_seconds: float) -> float | None:
    """Print time / printer online time, 0..1 (None while never online)."""
    return None if online_seconds <= 0 else min(1.0, print_seconds / online_seconds)


def summarize_printer(printer: PrinterFigures) -> PrinterSummary:
    f = printer.figures
    return PrinterSummary(
        family=printer.family,
        model=printer.model,
        jobs_started=f.jobs_started,
        jobs_completed=f.jobs_completed,
        jobs_failed=f.jobs_failed,
        jobs_cancelled=f.jobs_cancelled,
        jobs_ended_without_outcome=f.jobs_ended_without_outcome,
        success_rate=success_rate(f.jobs_completed, f.jobs_failed, f.jobs_cancelled),
        print_hours=_hours(f.print_seconds),
        paused_hours=_hours(f.paused_seconds),
        online_hours=_hours(f.online_seconds),
        utilization=utilization(f.print_seconds, f.online_seconds),
        filament_m=None if f.filament_m is None else round(f.filament_m, 2),
        errors=f.errors,
    )


@dataclass(frozen=True, slots=True)
class WeekSummary:
    """What the sensors show for the current ISO week so far."""

    period_start: datetime
    period_end: datetime
    jobs_started: int
    jobs_completed: int
    jobs_failed: int
    jobs_cancelled: int
    jobs_ended_without_outcome: int
    # completed / (completed + failed + cancelled), 0..1; None without outcomes
    success_rate: float | None
    errors: int
    errors_by_severity: dict[str, int]
    uptime_hours: float
    print_hours: float
    paused_hours: float
    printer_online_hours: float
    utilization: float | None  # print time / printer online time, 0..1
    filament_m: float | None
    active_printers: int
    printers_total: int
    printers_by_family: dict[str, int]
    printers_by_model: dict[str, dict[str, int]]
    by_model: dict[str, dict[str, PrinterSummary]] = field(default_factory=dict)
    printers: dict[str, PrinterSummary] = field(default_factory=dict)  # by printer key


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
        jobs_ended_without_outcome=aggregate.jobs_ended_without_outcome,
        success_rate=success_rate(
            aggregate.jobs_completed, aggregate.jobs_failed, aggregate.jobs_cancelled
        ),
        errors=aggregate.total_errors,
        errors_by_severity=dict(sorted(aggregate.errors_by_severity.items())),
        uptime_hours=_hours(aggregate.uptime_seconds),
        print_hours=_hours(aggregate.print_seconds),
        paused_hours=_hours(aggregate.paused_seconds),
        printer_online_hours=_hours(aggregate.online_seconds),
        utilization=utilization(aggregate.print_seconds, aggregate.online_seconds),
        filament_m=None if aggregate.filament_m is None else round(aggregate.filament_m, 2),
        active_printers=aggregate.active_printers,
        printers_total=aggregate.printer_count,
        printers_by_family={
            family: sum(models.values()) for family, models in sorted(aggregate.fleet.items())
        },
        printers_by_model={
            family: dict(sorted(models.items()))
            for family, models in sorted(aggregate.fleet.items())
        },
        by_model=_by_model(aggregate),
        printers={
            key: summarize_printer(printer) for key, printer in sorted(aggregate.by_printer.items())
        },
    )


def _by_model(aggregate: WeekAggregate) -> dict[str, dict[str, PrinterSummary]]:
    result: dict[str, dict[str, PrinterSummary]] = {}
    for (family, model), figures in aggregate.by_model.items():
        result.setdefault(family, {})[model] = summarize_printer(
            PrinterFigures(family, model, figures)
        )
    return result
