"""Incremental accounting of events into daily rollups (counts, print seconds, online seconds).

Per printer it keeps two open intervals — online and printing — as "credited until" times. Events close or
open them; `checkpoint(now)` credits what is open up to now, so the rollups are complete up to the last
write and a week never misses time that was still open when it ended.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from .models import EventKind
from .timeutil import DAY_SECONDS, epoch_day

JOBS_STARTED, JOBS_COMPLETED, JOBS_FAILED, JOBS_CANCELLED, ERRORS, PRINT_SECONDS, ONLINE_SECONDS = (
    range(7)
)
ROLLUP_COLUMNS = (
    "jobs_started",
    "jobs_completed",
    "jobs_failed",
    "jobs_cancelled",
    "errors",
    "print_seconds",
    "online_seconds",
)
_OUTCOME_COLUMN = {
    EventKind.JOB_COMPLETED: JOBS_COMPLETED,
    EventKind.JOB_FAILED: JOBS_FAILED,
    EventKind.JOB_CANCELLED: JOBS_CANCELLED,
}

RollupKey = tuple[int, str, str]  # day, family, model
ErrorKey = tuple[int, str, str, str]  # day, family, code, severity


@dataclass(slots=True)
class PrinterAccount:
    """What is open for one printer; the times are when crediting continues from (epoch seconds)."""

    family: str
    model: str
    online_since: float | None = None
    printing_since: float | None = None


@dataclass(slots=True)
class RollupDelta:
    """Increments to add to the daily tables."""

    rollups: defaultdict[RollupKey, list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0.0] * len(ROLLUP_COLUMNS))
    )
    errors: defaultdict[ErrorKey, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, day: int, family: str, model: str, column: int, amount: float) -> None:
        self.rollups[day, family, model][column] += amount

    def add_seconds(self, start: float, end: float, family: str, model: str, column: int) -> None:
        """Credit [start, end) split at UTC midnights."""
        while start < end:
            day = epoch_day(start)
            part_end = min(end, (day + 1) * DAY_SECONDS)
            self.add(day, family, model, column, part_end - start)
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
        delta: RollupDelta,
    ) -> None:
        account = self.accounts[printer]
        family, model = account.family, account.model
        day = epoch_day(timestamp)
        if kind is EventKind.PRINTER_DISCONNECTED:
            self._close_online(account, timestamp, delta)
            self._close_printing(account, timestamp, delta)
            return
        # Any other event means the printer is reporting, hence connected.
        if account.online_since is None:
            account.online_since = timestamp
        if kind is EventKind.JOB_STARTED:
            delta.add(day, family, model, JOBS_STARTED, 1)
            self._close_printing(account, timestamp, delta)
            account.printing_since = timestamp
        elif kind is EventKind.JOB_IN_PROGRESS:
            if account.printing_since is None:
                account.printing_since = timestamp
        elif kind in _OUTCOME_COLUMN:
            delta.add(day, family, model, _OUTCOME_COLUMN[kind], 1)
            self._close_printing(account, timestamp, delta)
        elif kind is EventKind.PRINTER_ERROR:
            delta.add(day, family, model, ERRORS, 1)
            delta.errors[day, family, code or "unknown", severity or "unknown"] += 1

    def checkpoint(self, now: float, delta: RollupDelta) -> None:
        """Credit every open interval up to `now`."""
        for account in self.accounts.values():
            if account.online_since is not None and now > account.online_since:
                delta.add_seconds(
                    account.online_since, now, account.family, account.model, ONLINE_SECONDS
                )
                account.online_since = now
            if account.printing_since is not None and now > account.printing_since:
                delta.add_seconds(
                    account.printing_since, now, account.family, account.model, PRINT_SECONDS
                )
                account.printing_since = now

    def forget_open_intervals(self) -> None:
        """A new Home Assistant run: what was open is unknown until observed again."""
        for account in self.accounts.values():
            account.online_since = None
            account.printing_since = None

    @staticmethod
    def _close_online(account: PrinterAccount, timestamp: float, delta: RollupDelta) -> None:
        if account.online_since is not None:
            delta.add_seconds(
                account.online_since, timestamp, account.family, account.model, ONLINE_SECONDS
            )
            account.online_since = None

    @staticmethod
    def _close_printing(account: PrinterAccount, timestamp: float, delta: RollupDelta) -> None:
        if account.printing_since is not None:
            delta.add_seconds(
                account.printing_since, timestamp, account.family, account.model, PRINT_SECONDS
            )
            account.printing_since = None
