"""Incremental accounting of events into daily per-printer rollups (counts, print, paused and online
seconds, filament).

The invariant: per printer at most one job is open; it is opened by JOB_STARTED/JOB_IN_PROGRESS and
closed by exactly one outcome (completed, failed, cancelled, ended without outcome). An outcome without
an open job is not counted, and a start while a job is open first closes that job as "ended" — so
outcomes never exceed starts, whatever the trackers or the bus deliver. Print and paused seconds are
credited only while a job is open (`printing_since`/`paused_since`), online seconds while the printer is
connected. `checkpoint(now)` credits what is open up to now, so the rollups are complete up to the last
write and a week never misses time that was still open when it ended.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from .models import EventKind
from .timeutil import DAY_SECONDS, epoch_day

(
    JOBS_STARTED,
    JOBS_COMPLETED,
    JOBS_FAILED,
    JOBS_CANCELLED,
    JOBS_ENDED,
    ERRORS,
    PRINT_SECONDS,
    PAUSED_SECONDS,
    ONLINE_SECONDS,
) = range(9)
ROLLUP_COLUMNS = (
    "jobs_started",
    "jobs_completed",
    "jobs_failed",
    "jobs_cancelled",
    "jobs_ended",
    "errors",
    "print_seconds",
    "paused_seconds",
    "online_seconds",
)
_OUTCOME_COLUMN = {
    EventKind.JOB_COMPLETED: JOBS_COMPLETED,
    EventKind.JOB_FAILED: JOBS_FAILED,
    EventKind.JOB_CANCELLED: JOBS_CANCELLED,
    EventKind.JOB_ENDED: JOBS_ENDED,
}
_STARTS = frozenset({EventKind.JOB_STARTED, EventKind.JOB_IN_PROGRESS})

RollupKey = tuple[int, int]  # day, printer
ErrorKey = tuple[int, int, str, str]  # day, printer, code, severity


@dataclass(slots=True)
class PrinterAccount:
    """What is open for one printer; the times are when crediting continues from (epoch seconds)."""

    family: str
    model: str
    online_since: float | None = None
    printing_since: float | None = None
    paused_since: float | None = None
    job_open: bool = False
    # What the last run credited up to: an event dated earlier (an entity that changed before a restart
    # of this integration) opens intervals from here, so nothing is credited twice.
    credited_until: float | None = None


@dataclass(slots=True)
class RollupDelta:
    """Increments to add to the daily tables."""

    rollups: defaultdict[RollupKey, list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0.0] * len(ROLLUP_COLUMNS))
    )
    filament: defaultdict[RollupKey, float] = field(default_factory=lambda: defaultdict(float))
    errors: defaultdict[ErrorKey, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, day: int, printer: int, column: int, amount: float) -> None:
        self.rollups[day, printer][column] += amount

    def add_seconds(self, start: float, end: float, printer: int, column: int) -> None:
        """Credit [start, end) split at UTC midnights."""
        while start < end:
            day = epoch_day(start)
            part_end = min(end, (day + 1) * DAY_SECONDS)
            self.add(day, printer, column, part_end - start)
            start = part_end


class Accounting:
    """Turns events into `RollupDelta`s, keeping per-printer open intervals."""

    def __init__(self, accounts: dict[int, PrinterAccount] | None = None) -> None:
        self.accounts: dict[int, PrinterAccount] = accounts or {}

    def apply(
        self,
        printer: int,
        *,
        kind: EventKind,
        timestamp: float,
        code: str | None,
        severity: str | None,
        amount: float | None,
        delta: RollupDelta,
    ) -> None:
        account = self.accounts[printer]
        if account.credited_until is not None:
            timestamp = max(timestamp, account.credited_until)
        day = epoch_day(timestamp)
        if kind is EventKind.PRINTER_DISCONNECTED:
            _close(account, "online_since", ONLINE_SECONDS, printer, timestamp, delta)
            _close_job_time(account, printer, timestamp, delta)
            return
        # Any other event means the printer is reporting, hence connected.
        if account.online_since is None:
            account.online_since = timestamp
        if kind in _STARTS:
            if account.job_open:
                self.apply(
                    printer,
                    kind=EventKind.JOB_ENDED,
                    timestamp=timestamp,
                    code=None,
                    severity=None,
                    amount=None,
                    delta=delta,
                )
            delta.add(day, printer, JOBS_STARTED, 1)
            account.job_open = True
            account.printing_since = timestamp
        elif kind in _OUTCOME_COLUMN:
            if account.job_open:
                delta.add(day, printer, _OUTCOME_COLUMN[kind], 1)
                _close_job_time(account, printer, timestamp, delta)
                account.job_open = False
        elif kind is EventKind.JOB_PAUSED:
            if account.job_open:
                _close_job_time(account, printer, timestamp, delta)
                account.paused_since = timestamp
        elif kind is EventKind.JOB_RESUMED:
            if account.job_open:
                _close_job_time(account, printer, timestamp, delta)
                account.printing_since = timestamp
        elif kind is EventKind.FILAMENT_USED:
            if account.job_open and amount is not None and amount > 0:
                delta.filament[day, printer] += amount
        elif kind is EventKind.PRINTER_ERROR:
            delta.add(day, printer, ERRORS, 1)
            delta.errors[day, printer, code or "unknown", severity or "unknown"] += 1

    def checkpoint(self, now: float, delta: RollupDelta) -> None:
        """Credit every open interval up to `now`."""
        for printer, account in self.accounts.items():
            for attribute, column in _INTERVALS:
                since = getattr(account, attribute)
                if since is not None and now > since:
                    delta.add_seconds(since, now, printer, column)
                    setattr(account, attribute, now)

    def forget_open_intervals(self) -> None:
        """A new Home Assistant run: no time is credited until the printers are observed again (open
        jobs stay open: their trackers resume them)."""
        for account in self.accounts.values():
            credited = [
                since
                for since in (account.online_since, account.printing_since, account.paused_since)
                if since is not None
            ]
            if credited:
                account.credited_until = max(credited)
            account.online_since = None
            account.printing_since = None
            account.paused_since = None


_INTERVALS = (
    ("online_since", ONLINE_SECONDS),
    ("printing_since", PRINT_SECONDS),
    ("paused_since", PAUSED_SECONDS),
)


def _close(  # noqa: PLR0917
    account: PrinterAccount,
    attribute: str,
    column: int,
    printer: int,
    timestamp: float,
    delta: RollupDelta,
) -> None:
    since = getattr(account, attribute)
    if since is not None:
        # An event dated before what a checkpoint already credited closes at that point.
        delta.add_seconds(since, max(since, timestamp), printer, column)
        setattr(account, attribute, None)


def _close_job_time(
    account: PrinterAccount, printer: int, timestamp: float, delta: RollupDelta
) -> None:
    _close(account, "printing_since", PRINT_SECONDS, printer, timestamp, delta)
    _close(account, "paused_since", PAUSED_SECONDS, printer, timestamp, delta)
