"""One printer's jobs, from what its integration shows: the job-state value, progress, errors, filament
and (Bambu Lab) the `bambu_lab_event` bus events.

The invariant: a job opens on entering an active phase and is closed exactly once — by the first
transition to a non-active phase (idle, ready, an outcome state, something that is not a print), by a
lost contact that lasts `JOB_LOST_SECONDS`, or by `end_job` (the printer left Home Assistant). Its outcome
is the best evidence seen (`_outcome`); with none, the job "ended without outcome" (its own bucket, never
guessed as completed). A restart of Home Assistant neither closes nor reopens a job: `snapshot()` is
persisted and a tracker built from it goes on with the same job.

Timestamps are POSIX seconds. The tracker never reads a clock: debounced disconnections, lost jobs and
Bambu Lab's pending outcomes are resolved by the next observation or `poll` with a later timestamp.
"""

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .models import EventKind, UsageEvent
from .printer_states import (
    ACTIVE,
    BAMBU_CANCEL_CODES,
    ELEGOO_CONTEXTUAL,
    Phase,
    interpret,
)

DISCONNECT_DEBOUNCE_SECONDS = 60.0
# Printing, then unreachable this long (and not back): the job failed (power loss, crash, printer error).
# Long enough for a Wi-Fi or MQTT drop and a power-panic recovery to resume the same job; a longer
# outage splits a print that went on into a failure and a new job (docs/printers.md).
JOB_LOST_SECONDS = 1800.0
# Bambu Lab's bus events and its `print_status` arrive in either order: `failed` waits this long for the
# event that tells a cancel from a failure.
BAMBU_OUTCOME_GRACE_SECONDS = 10.0
PROGRESS_DONE = 99.0
# A job restored after a restart whose progress is now this much lower was replaced by another job.
PROGRESS_DROP_NEW_JOB = 5.0

_ERROR_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}")
_ERROR_STATE_FAMILIES = frozenset({"prusa", "octoprint", "klipper", "elegoo"})
_CANCEL_CODES = frozenset(re.sub(r"[^0-9A-F]", "", code) for code in BAMBU_CANCEL_CODES)


def is_bambu_cancel_code(code: object) -> bool:
    """Whether a Bambu Lab print-error code means a user cancel (any spelling: `0300_400C`, `0300400c`)."""
    return re.sub(r"[^0-9A-F]", "", str(code or "").upper()) in _CANCEL_CODES


_OUTCOME_EVENT = {
    "completed": EventKind.JOB_COMPLETED,
    "failed": EventKind.JOB_FAILED,
    "cancelled": EventKind.JOB_CANCELLED,
    "ended": EventKind.JOB_ENDED,
}


def clean_error_code(code: object) -> str:
    """A PII-free error code: letters, digits, `_ . -`, at most 48 characters; anything else `unknown`."""
    text = str(code).strip() if code is not None else ""
    return text if _ERROR_CODE.fullmatch(text) else "unknown"


@dataclass(slots=True)
class JobState:
    """What is known of the open job (persisted across restarts as `snapshot()`)."""

    open: bool = False
    paused: bool = False
    baseline_progress: float | None = None  # the reading when the job opened (often the last job's)
    max_progress: float | None = None  # highest reading since it moved away from the baseline
    finishing: bool = False  # a finishing state or a completion event was seen
    cancel: bool = False  # a cancelling state or a cancel event was seen
    failure: bool = False  # the platform said the job failed
    error: bool = False  # an error, or a lost contact, while the job ran
    filament_m: float | None = None
    filament_is_estimate: bool = (
        False  # the whole job's planned length (Bambu Lab), not used-so-far
    )
    # Not the job's: the printer's error codes active when this was taken, so a standing error is
    # not counted again after a restart (persisted even while no job is open).
    active_errors: tuple[str, ...] = ()

    def with_errors(self, active_errors: tuple[str, ...]) -> JobState:
        """A copy with these active error codes (written out: taken on every recorded event, and
        `dataclasses.replace`/`copy.copy` cost several times more)."""
        return JobState(
            self.open,
            self.paused,
            self.baseline_progress,
            self.max_progress,
            self.finishing,
            self.cancel,
            self.failure,
            self.error,
            self.filament_m,
            self.filament_is_estimate,
            active_errors,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobState:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["active_errors"] = tuple(str(code) for code in values.get("active_errors") or ())
        return cls(**values)


@dataclass(slots=True)
class _Reading:
    """The latest values of the printer's other entities."""

    progress: float | None = None
    filament_m: float | None = None
    filament_is_estimate: bool = False
    errors: dict[str, str | None] = field(default_factory=dict)  # active code -> severity
    machine_status: str | None = None  # Elegoo `current_status`
    system_job: bool = False  # Bambu Lab `print_type` `system`: a calibration, not a print


class PrinterTracker:
    """Turns one printer's observations into `UsageEvent`s (see the module docstring)."""

    def __init__(
        self,
        printer_key: str,
        family: str,
        model: str,
        *,
        restored: JobState | None = None,
        debounce_seconds: float = DISCONNECT_DEBOUNCE_SECONDS,
        job_lost_seconds: float = JOB_LOST_SECONDS,
    ) -> None:
        self.printer_key = printer_key
        self.family = family
        self.model = model
        self._debounce = debounce_seconds
        self._job_lost = job_lost_seconds
        self._job = (
            dataclasses.replace(restored, active_errors=())
            if restored is not None and restored.open
            else JobState()
        )
        self._restored = self._job.open
        # The accounting has no open print interval for this job: the next active phase resumes it.
        self._suspended = self._job.open
        self._phase: Phase | None = None
        self._connected: bool | None = None
        self._unavailable_since: float | None = None
        self._lost_since: float | None = None
        self._pending_outcome_at: float | None = (
            None  # Bambu Lab: an outcome state awaits its event
        )
        self._pending_phase: Phase | None = None
        # A bus event closed the job while the job-state entity still shows it active (Bambu Lab's
        # cancel fires while `print_status` still reads `running`): that state opens no new job.
        self._outcome_ahead_of_state = False
        self._reading = _Reading()
        if restored is not None:
            self._reading.errors = dict.fromkeys(restored.active_errors)
        # The last job-state value and the latest time of any observation: a value read again (the
        # evidence beside it changed) is judged now, not at the `last_changed` it was first seen.
        self._last_value: str | None = None
        self._latest: float | None = None
        # Bambu Lab without HMS/print-error entities: errors are counted from the bus events.
        self.errors_from_bus = False
        self._bus_errors: set[str] = set()

    @property
    def connected(self) -> bool | None:
        return self._connected

    @property
    def phase(self) -> Phase | None:
        return self._phase

    @property
    def job_open(self) -> bool:
        return self._job.open

    def snapshot(self) -> JobState:
        """The open job as it must survive a restart (a copy: every field is immutable)."""
        return self._job.with_errors(tuple(sorted(self._reading.errors)))

    # --- observations -----------------------------------------------------------------------------

    def observe_state(self, value: str | None, timestamp: float) -> list[UsageEvent]:
        """A new value of the printer's job-state entity (`None`/`unknown` entity states included),
        dated when it changed. The same value again (re-read because the machine status, print type
        or progress beside it changed) is dated at the latest observation instead: Elegoo's CC1
        parks on one print status for a whole job, and the job ends when its machine status says so.
        """
        if value == self._last_value and self._latest is not None:
            timestamp = max(timestamp, self._latest)
        self._last_value = value
        events = self.poll(timestamp)
        phase = self._interpret(value)
        if phase is Phase.OFFLINE:
            if self._connected is not False and self._unavailable_since is None:
                self._unavailable_since = timestamp
            return events
        self._unavailable_since = None
        if phase is Phase.UNKNOWN and self._connected is None:
            return events
        if self._connected is not True:
            self._connected = True
            events.append(self._event(EventKind.PRINTER_CONNECTED, timestamp))
        if phase is Phase.UNKNOWN:
            return events
        if (
            self._pending_phase is not None
            and phase is not self._pending_phase
            # A failure event ahead of the state waits for the state or a cancel, not for the
            # next report of the state it is ahead of.
            and (phase not in ACTIVE or self._phase not in ACTIVE)
        ):
            events.extend(self._settle_pending(timestamp))
        if phase is not self._phase:
            events.extend(self._state_error(value, phase, timestamp))
        events.extend(self._step(phase, timestamp))
        self._phase = phase
        return events

    def observe_progress(self, percent: float | None, timestamp: float) -> list[UsageEvent]:
        """The job progress entity (0..100; None when unknown)."""
        self._seen(timestamp)
        self._reading.progress = percent
        job = self._job
        if job.open and percent is not None and percent != job.baseline_progress:
            job.baseline_progress = None  # moved: every reading from now on is this job's
            job.max_progress = (
                percent if job.max_progress is None else max(job.max_progress, percent)
            )
        return []

    def observe_filament(
        self, metres: float | None, timestamp: float, *, estimate: bool = False
    ) -> list[UsageEvent]:
        """Filament of the current job in metres: used so far, or (`estimate`) the job's planned total."""
        self._seen(timestamp)
        self._reading.filament_m = metres
        self._reading.filament_is_estimate = estimate
        job = self._job
        if not job.open or metres is None or metres < 0:
            return []
        if estimate:
            # The planned length of the job being printed (a stale one may show while preparing).
            if self._phase is Phase.PRINTING:
                job.filament_m, job.filament_is_estimate = metres, True
        elif job.filament_m is None or metres > job.filament_m:
            # Used-so-far only grows during a job; a reset at its end must not lose it.
            job.filament_m, job.filament_is_estimate = metres, False
        return []

    def observe_context(
        self, *, machine_status: str | None = None, system_job: bool = False
    ) -> list[UsageEvent]:
        """What tells a print from a calibration: Elegoo's machine status (`current_status`), Bambu
        Lab's `print_type` being `system`."""
        self._reading.machine_status = (machine_status or "").strip().lower() or None
        self._reading.system_job = system_job
        return []

    def observe_errors(
        self, active: Mapping[str, str | None], timestamp: float
    ) -> list[UsageEvent]:
        """The printer's currently active error codes (code -> severity) from its error entities.

        A code counts once per occurrence: when it appears. A code that stays active is the same
        error; one that clears and comes back is a new one."""
        self._seen(timestamp)
        codes = {clean_error_code(code): severity for code, severity in active.items()}
        events = [
            self._event(EventKind.PRINTER_ERROR, timestamp, code=code, severity=severity)
            for code, severity in sorted(codes.items())
            if code not in self._reading.errors
        ]
        if events and self._job.open:
            self._job.error = True
        self._reading.errors = codes
        return events

    def observe_bus_event(
        self, event_type: str, timestamp: float, *, code: str | None = None
    ) -> list[UsageEvent]:
        """A Bambu Lab `bambu_lab_event` of this printer (only its type and code are read).

        A finish or a cancel closes the job at once (the state that follows finds it closed: one
        outcome per job, whatever duplicates arrive, and the state that still shows the job active
        does not open another); a failure waits for a cancel that may follow. A start opens nothing:
        the state does (`prepare`/`running`), once `print_type` tells a print from a calibration.
        Errors come from the HMS and print-error entities when the printer has them (`errors_from_bus`
        False): the HMS event carries only the first code of the list and repeats it at every change."""
        self._seen(timestamp)
        events = self.poll(timestamp)
        job = self._job
        if event_type == "event_print_started":
            self._outcome_ahead_of_state = False
            return events
        if event_type in ("event_print_error_cleared", "event_printer_error_cleared"):
            self._bus_errors.clear()
            return events
        is_cancel = event_type == "event_print_canceled" or (
            event_type == "event_print_error" and is_bambu_cancel_code(code)
        )
        if event_type in ("event_print_error", "event_printer_error") and not is_cancel:
            if job.open:
                job.error = True
            cleaned = clean_error_code(code)
            if self.errors_from_bus and cleaned not in self._bus_errors:
                self._bus_errors.add(cleaned)
                events.append(self._event(EventKind.PRINTER_ERROR, timestamp, code=cleaned))
            return events
        if not job.open:
            return events
        if is_cancel:
            job.cancel = True
            events.extend(self._close_ahead_of_state(Phase.CANCELLED, timestamp))
        elif event_type == "event_print_finished":
            job.finishing = True
            events.extend(self._close_ahead_of_state(Phase.COMPLETED, timestamp))
        elif event_type == "event_print_failed":
            job.failure = True
            if self._pending_phase is None:
                self._pending_phase, self._pending_outcome_at = Phase.FAILED, timestamp
        return events

    def poll(self, timestamp: float) -> list[UsageEvent]:
        """Resolve what waits on time: a disconnection whose debounce elapsed, a job whose printer has
        been unreachable too long, a Bambu Lab outcome whose grace elapsed."""
        self._seen(timestamp)
        events: list[UsageEvent] = []
        if (
            self._pending_outcome_at is not None
            and timestamp - self._pending_outcome_at >= BAMBU_OUTCOME_GRACE_SECONDS
        ):
            events.extend(self._settle_pending(timestamp))
        since = self._unavailable_since
        if since is not None and timestamp - since >= self._debounce:
            self._unavailable_since = None
            if self._connected:
                events.append(self._event(EventKind.PRINTER_DISCONNECTED, since))
                if self._job.open and self._lost_since is None:
                    self._lost_since = since
                    self._suspended = True
                    if not self._job.paused:
                        self._job.error = True
            self._connected = False
        lost = self._lost_since
        if lost is not None and timestamp - lost >= self._job_lost:
            events.extend(self._close(None, lost))
        return events

    def end_job(self, timestamp: float) -> list[UsageEvent]:
        """The printer left Home Assistant (removed or disabled): close its job on the evidence."""
        return self._close(None, timestamp) if self._job.open else []

    def _seen(self, timestamp: float) -> None:
        if self._latest is None or timestamp > self._latest:
            self._latest = timestamp

    # --- the state machine ------------------------------------------------------------------------

    def _interpret(self, value: str | None) -> Phase:
        phase = interpret(self.family, value)
        if phase not in ACTIVE:
            return phase
        if self._reading.system_job and not self._job.open:
            return Phase.NOT_A_JOB  # Bambu Lab calibration run from the printer's own files
        machine = self._reading.machine_status
        if (
            self.family == "elegoo"
            and machine not in (None, "unknown", "printing", "recovery")
            and (value or "").strip().lower() in ELEGOO_CONTEXTUAL
        ):
            return Phase.NOT_A_JOB  # levelling, input shaping, filament handling outside a job
        return phase

    def _step(self, phase: Phase, timestamp: float) -> list[UsageEvent]:
        job = self._job
        self._lost_since = None
        if phase in ACTIVE:
            if not job.open:
                if self._outcome_ahead_of_state:
                    return []
                kind = (
                    EventKind.JOB_STARTED if self._phase is not None else EventKind.JOB_IN_PROGRESS
                )
                return self._open(phase, timestamp, kind)
            events = self._replaced_by_new_job(phase, timestamp)
            if events:
                return events
            job.finishing |= phase is Phase.FINISHING
            job.cancel |= phase is Phase.CANCELLING
            return self._set_paused(phase is Phase.PAUSED, timestamp)
        self._outcome_ahead_of_state = False
        if phase is Phase.HOLD:
            return self._set_paused(True, timestamp) if job.open else []
        self._restored = False
        if not job.open:
            return []
        undecided = not (job.cancel or job.finishing)
        if phase is Phase.FAILED and self.family == "bambu_lab" and undecided:
            # Wait for the bus event that may say it was a cancel (it can come after the state).
            self._pending_phase, self._pending_outcome_at = phase, timestamp
            return []
        return self._close(phase, timestamp)

    def _open(self, phase: Phase, timestamp: float, kind: EventKind) -> list[UsageEvent]:
        paused = phase is Phase.PAUSED
        self._job = JobState(
            open=True,
            paused=paused,
            baseline_progress=self._reading.progress,
            cancel=phase is Phase.CANCELLING,
            finishing=phase is Phase.FINISHING,
        )
        self._suspended = self._restored = False
        self._lost_since = None
        events = [self._event(kind, timestamp)]
        if paused:
            events.append(self._event(EventKind.JOB_PAUSED, timestamp))
        return events

    def _set_paused(self, paused: bool, timestamp: float) -> list[UsageEvent]:
        job = self._job
        if job.paused == paused and not self._suspended:
            return []
        job.paused = paused
        self._suspended = False
        return [self._event(EventKind.JOB_PAUSED if paused else EventKind.JOB_RESUMED, timestamp)]

    def _replaced_by_new_job(self, phase: Phase, timestamp: float) -> list[UsageEvent]:
        """After a restart: the remembered job finished unseen if progress, read while printing, went
        clearly backwards. Only a printing reading tells: Moonraker's progress reads 0 whenever the
        job is not printing, a pause included (sensor.py `empty_result_when_not_printing`)."""
        job, progress = self._job, self._reading.progress
        if not self._restored or phase is not Phase.PRINTING:
            return []
        self._restored = False
        if (
            progress is None
            or job.max_progress is None
            or progress > job.max_progress - PROGRESS_DROP_NEW_JOB
        ):
            return []
        events = self._close(Phase.IDLE, timestamp)
        return events + self._open(phase, timestamp, EventKind.JOB_IN_PROGRESS)

    def _settle_pending(self, timestamp: float) -> list[UsageEvent]:
        phase, at = self._pending_phase, self._pending_outcome_at
        self._pending_phase = self._pending_outcome_at = None
        if phase is None or not self._job.open:
            return []
        return self._close_ahead_of_state(
            phase, min(timestamp, at if at is not None else timestamp)
        )

    def _close_ahead_of_state(self, phase: Phase, timestamp: float) -> list[UsageEvent]:
        """Close on a bus event (or its grace): if the state still shows the job, it opens none."""
        self._outcome_ahead_of_state = self._phase in ACTIVE
        return self._close(phase, timestamp)

    def _close(self, phase: Phase | None, timestamp: float) -> list[UsageEvent]:
        """Close the open job exactly once: its filament, then its one outcome."""
        job = self._job
        if not job.open:
            return []
        outcome = self._outcome(phase)
        events: list[UsageEvent] = []
        if job.filament_m is not None:
            used = job.filament_m
            if job.filament_is_estimate and outcome != "completed":
                used = used * min(job.max_progress or 0.0, 100.0) / 100
            events.append(self._event(EventKind.FILAMENT_USED, timestamp, amount=round(used, 3)))
        events.append(self._event(_OUTCOME_EVENT[outcome], timestamp))
        self._job = JobState()
        self._suspended = self._restored = False
        self._lost_since = None
        self._pending_phase = self._pending_outcome_at = None
        return events

    def _outcome(self, phase: Phase | None) -> str:
        """completed / failed / cancelled / ended (without outcome), from the strongest evidence."""
        job = self._job
        if phase is Phase.CANCELLED or (phase is Phase.FAILED and job.cancel):
            return "cancelled"
        if phase is Phase.COMPLETED:
            return "completed"
        if phase is Phase.FAILED:
            return "failed"
        if job.cancel or self._progress_reset_by_cancel():
            return "cancelled"
        if job.finishing:
            return "completed"
        if job.failure:
            return "failed"
        if job.max_progress is not None and job.max_progress >= PROGRESS_DONE:
            return "completed"
        if job.error:
            return "failed"
        return "ended"

    def _progress_reset_by_cancel(self) -> bool:
        """OctoPrint sets the job's progress to 0 when a print is cancelled and to 100 when it is done
        (octoprint/printer/standard.py `on_comm_print_job_cancelled` / `_done`); the short
        `cancelling` state is often missed between two polls."""
        job, now = self._job, self._reading.progress
        return (
            self.family == "octoprint"
            and now is not None
            and now <= 0
            and job.max_progress is not None
            and 0 < job.max_progress < 100
        )

    def _state_error(self, value: str | None, phase: Phase, timestamp: float) -> list[UsageEvent]:
        """An error state value is a printer error (once per entry into it), on the platforms whose
        `error` value means the printer, not the job (Bambu Lab's `failed` is also a cancel)."""
        if phase is not Phase.FAILED or self.family not in _ERROR_STATE_FAMILIES:
            return []
        if self._job.open:
            self._job.error = True
        code = "state_" + re.sub(r"[^a-z0-9]+", "_", (value or "").strip().lower())
        return [self._event(EventKind.PRINTER_ERROR, timestamp, code=clean_error_code(code))]

    def _event(
        self,
        kind: EventKind,
        timestamp: float,
        *,
        code: str | None = None,
        severity: str | None = None,
        amount: float | None = None,
    ) -> UsageEvent:
        return UsageEvent(
            kind=kind,
            timestamp=timestamp,
            printer_key=self.printer_key,
            family=self.family,
            model=self.model,
            error_code=code,
            severity=None if severity is None else str(severity).strip().lower()[:16] or None,
            amount=amount,
        )
