"""A printer as the fleet observer sees it, without Home Assistant: the states of its entities, fed to a
`PrinterTracker` in the order `fleet.FleetObserver._observe` uses, and the tracker's events applied to an
`Accounting` as the engine does.

`update()` is one poll (or push) of the printer's integration: it changes some entity states, then the
tracker reads all of them at once (progress, filament, Elegoo's machine status, Bambu Lab's print type,
the error entities, then the job state dated at its `last_changed`). `bus()` is a Bambu Lab
`bambu_lab_event`, `poll()` the fleet's 30 s poll.
"""

from collections import Counter
from collections.abc import Mapping
from typing import Any

from homeassistant.core import State

from custom_components.printernizer_usage.engine.job_tracker import JobState, PrinterTracker
from custom_components.printernizer_usage.engine.models import EventKind, UsageEvent
from custom_components.printernizer_usage.engine.rollup import (
    PAUSED_SECONDS,
    PRINT_SECONDS,
    ROLLUP_COLUMNS,
    Accounting,
    PrinterAccount,
    RollupDelta,
)
from custom_components.printernizer_usage.printer_entities import Role, active_errors

# Monday 2026-11-09 01:00 UTC (ISO week 46), as in conftest.py.
T0 = 1_794_186_000.0
STARTS = frozenset({EventKind.JOB_STARTED, EventKind.JOB_IN_PROGRESS})
OUTCOMES = frozenset(
    {
        EventKind.JOB_COMPLETED,
        EventKind.JOB_FAILED,
        EventKind.JOB_CANCELLED,
        EventKind.JOB_ENDED,
    }
)
_UNSET: Any = object()
PRINTER = 1


def hms_state(*codes: tuple[str, str]) -> State:
    """ha-bambulab's `hms_errors` binary sensor: `on` with `N-Code`/`N-Error`/`N-Wiki`/`N-Severity`
    attributes and `Count` (pybambu/models.py `HMSList.print_update`), `off` with `Count` 0."""
    attributes: dict[str, Any] = {"Count": len(codes)}
    for number, (code, severity) in enumerate(codes, start=1):
        attributes |= {
            f"{number}-Code": code,
            f"{number}-Error": "Free text that is never read",
            f"{number}-Wiki": "https://wiki.bambulab.com/en/x1/troubleshooting/hmscode/x",
            f"{number}-Severity": severity,
        }
    return State("binary_sensor.x1c_hms_errors", "on" if codes else "off", attributes)


def print_error_state(code: str | None) -> State:
    """ha-bambulab's `print_error` binary sensor: attributes `{"code": "0300_400C", "error": text}`."""
    if code is None:
        return State("binary_sensor.x1c_print_error", "off", {})
    return State("binary_sensor.x1c_print_error", "on", {"code": code, "error": "Free text"})


class SimPrinter:
    """One printer's entities, its tracker and the accounting of the events it emits."""

    def __init__(
        self,
        family: str,
        model: str = "unknown",
        *,
        restored: JobState | None = None,
        start: float = T0,
        accounting: Accounting | None = None,
    ) -> None:
        self.family = family
        self.model = model
        self.now = start
        self.tracker = PrinterTracker("p1", family, model, restored=restored)
        self.events: list[UsageEvent] = []
        self.accounting = accounting or Accounting({PRINTER: PrinterAccount(family, model)})
        self.totals = [0.0] * len(ROLLUP_COLUMNS)
        self.errors_by_code: Counter[str] = Counter()
        # The entity states the fleet would read (None: the entity does not exist).
        self.job_state: str | None = None
        self.job_state_changed = start
        self._written_anew = False
        self.progress: float | None = None
        self.filament_m: float | None = None
        self.filament_entity = False
        self.filament_planned = family == "bambu_lab"  # print_length: the job's estimate
        self.machine_status: str | None = None
        self.print_type: str | None = None
        self.error_entities: dict[Role, State] = {}

    # --- what the printer's integration does ------------------------------------------------

    def update(
        self,
        state: str | None = _UNSET,
        *,
        after: float = 30.0,
        progress: float | None = _UNSET,
        filament_m: float | None = _UNSET,
        machine_status: str | None = _UNSET,
        print_type: str | None = _UNSET,
        errors: Mapping[Role, State] | None = None,
    ) -> list[UsageEvent]:
        """The integration writes its entities `after` seconds later; the fleet reads them all."""
        self.now += after
        if self._written_anew:
            self.job_state_changed, self._written_anew = self.now, False
        if state is not _UNSET and state != self.job_state:
            self.job_state, self.job_state_changed = state, self.now
        if progress is not _UNSET:
            self.progress = progress
        if filament_m is not _UNSET:
            self.filament_m, self.filament_entity = filament_m, True
        if machine_status is not _UNSET:
            self.machine_status = machine_status
        if print_type is not _UNSET:
            self.print_type = print_type
        if errors is not None:
            self.error_entities |= errors
        return self._observe()

    def _observe(self) -> list[UsageEvent]:
        """`fleet.FleetObserver._observe`: evidence first, then the job state at its last change."""
        tracker, now = self.tracker, self.now
        events: list[UsageEvent] = []
        events += tracker.observe_progress(self.progress, now)
        if self.filament_entity:
            events += tracker.observe_filament(self.filament_m, now, estimate=self.filament_planned)
        active: dict[str, str | None] = {}
        for role, entity in self.error_entities.items():
            active |= active_errors(role, entity)
        events += tracker.observe_context(
            machine_status=self.machine_status, system_job=self.print_type == "system"
        )
        events += tracker.observe_errors(active, now)
        if self.job_state is not None:
            events += tracker.observe_state(self.job_state, min(now, self.job_state_changed))
        return self._record(events)

    def bus(
        self, event_type: str, *, code: str | None = None, after: float = 1.0
    ) -> list[UsageEvent]:
        """A `bambu_lab_event` of this printer, fired `after` seconds later."""
        self.now += after
        return self._record(self.tracker.observe_bus_event(event_type, self.now, code=code))

    def poll(self, after: float = 30.0) -> list[UsageEvent]:
        """The fleet's periodic poll."""
        self.now += after
        return self._record(self.tracker.poll(self.now))

    def restart(self, after: float = 60.0) -> None:
        """Home Assistant restarts: the tracker is rebuilt from its persisted snapshot, the accounting
        forgets its open intervals (the engine's `forget_open_intervals`)."""
        self.checkpoint()
        snapshot = self.tracker.snapshot()
        self.now += after
        self.tracker = PrinterTracker("p1", self.family, self.model, restored=snapshot)
        self.accounting.forget_open_intervals()
        # The integrations write their entities anew when Home Assistant starts, just before the
        # fleet first reads them.
        self._written_anew = True

    # --- accounting ---------------------------------------------------------------------------

    def _record(self, events: list[UsageEvent]) -> list[UsageEvent]:
        delta = RollupDelta()
        for event in events:
            self.accounting.apply(
                PRINTER,
                kind=event.kind,
                timestamp=event.timestamp,
                code=event.error_code,
                severity=event.severity,
                amount=event.amount,
                delta=delta,
            )
        self._add(delta)
        for (_day, _printer, code, _severity), count in delta.errors.items():
            self.errors_by_code[code] += count
        self.events += events
        return events

    def checkpoint(self, at: float | None = None) -> list[float]:
        """Credit the open intervals up to `at` (default now); the increments, by column."""
        delta = RollupDelta()
        self.accounting.checkpoint(self.now if at is None else at, delta)
        return self._add(delta)

    def _add(self, delta: RollupDelta) -> list[float]:
        added = [0.0] * len(ROLLUP_COLUMNS)
        for row in delta.rollups.values():
            for column, amount in enumerate(row):
                added[column] += amount
        for column, amount in enumerate(added):
            self.totals[column] += amount
        return added

    # --- reading the results --------------------------------------------------------------------

    def kinds(self, events: list[UsageEvent] | None = None) -> list[EventKind]:
        """The job events (starts, outcomes, pauses, filament, errors), without (dis)connections."""
        return [
            e.kind
            for e in (self.events if events is None else events)
            if e.kind not in (EventKind.PRINTER_CONNECTED, EventKind.PRINTER_DISCONNECTED)
        ]

    def jobs(self) -> list[EventKind]:
        """The starts and outcomes, in order."""
        return [e.kind for e in self.events if e.kind in STARTS | OUTCOMES]

    def outcomes(self) -> list[EventKind]:
        return [e.kind for e in self.events if e.kind in OUTCOMES]

    def error_codes(self) -> list[str | None]:
        return [e.error_code for e in self.events if e.kind is EventKind.PRINTER_ERROR]

    @property
    def print_seconds(self) -> float:
        return self.totals[PRINT_SECONDS]

    @property
    def paused_seconds(self) -> float:
        return self.totals[PAUSED_SECONDS]
