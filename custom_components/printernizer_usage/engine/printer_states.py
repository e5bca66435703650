"""Per-platform interpretation of printer job states into `UsageEvent`s, and family/model normalisation.

One `PrinterTracker` per printer turns successive job-state values (and, for Bambu Lab, the
`bambu_lab_event` bus events) into job events; `unavailable`/`offline` is a disconnection only after a
debounce, resolved lazily on the next observation or `poll` (no timers).
"""

import re
from enum import Enum, auto

from .models import EventKind, UsageEvent

DISCONNECT_DEBOUNCE_SECONDS = 60.0
# A bus event of the same kind this soon after a state-inferred one is the same job (not counted twice).
BUS_DEDUPE_SECONDS = 300.0
UNKNOWN_MODEL = "unknown"

FAMILY_BY_PLATFORM = {
    "bambu_lab": "bambu_lab",
    "prusalink": "prusa",
    "octoprint": "octoprint",
    "moonraker": "klipper",
    "elegoo_printer": "elegoo",
}
BAMBU_MODELS = frozenset(
    {
        "A1",
        "A1MINI",
        "A2L",
        "P1P",
        "P1S",
        "P2S",
        "H2C",
        "H2D",
        "H2DPRO",
        "H2S",
        "X2D",
        "X1E",
        "X1C",
        "X1",
    }
)
_BAMBU_ALIASES = {"X1CARBON": "X1C"}
_SAFE_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.+-]{0,31}")


class Phase(Enum):
    """Where a printer's job is, independent of the platform."""

    IDLE = auto()
    STARTING = auto()
    PRINTING = auto()
    PAUSED = auto()
    FINISHING = auto()  # OctoPrint: finishing -> operational = completed
    CANCELLING = auto()  # OctoPrint: cancelling -> operational = cancelled
    COMPLETED = auto()
    FAILED = auto()
    CANCELLED = auto()
    OFFLINE = auto()  # the printer says it is offline: a disconnection, like `unavailable`
    UNKNOWN = auto()  # a value that says nothing about the job


ACTIVE = frozenset(
    {Phase.STARTING, Phase.PRINTING, Phase.PAUSED, Phase.FINISHING, Phase.CANCELLING}
)
_OUTCOMES = {
    Phase.COMPLETED: EventKind.JOB_COMPLETED,
    Phase.FAILED: EventKind.JOB_FAILED,
    Phase.CANCELLED: EventKind.JOB_CANCELLED,
}
_DISCONNECTED_VALUES = frozenset({"unavailable", "offline"})

_BAMBU = {
    "failed": Phase.FAILED,  # a cancel also shows as `failed` (bus events tell them apart)
    "finish": Phase.COMPLETED,
    "idle": Phase.IDLE,
    "init": Phase.STARTING,
    "prepare": Phase.STARTING,
    "slicing": Phase.STARTING,
    "running": Phase.PRINTING,
    "pause": Phase.PAUSED,
    "offline": Phase.OFFLINE,
}
_PRUSALINK = {
    "idle": Phase.IDLE,
    "ready": Phase.IDLE,
    "busy": Phase.UNKNOWN,
    "printing": Phase.PRINTING,
    "paused": Phase.PAUSED,
    "attention": Phase.PAUSED,  # mid-job, waiting for the user
    "finished": Phase.COMPLETED,
    "stopped": Phase.CANCELLED,
    "error": Phase.FAILED,
}
_OCTOPRINT = {
    "operational": Phase.IDLE,
    "starting": Phase.PRINTING,
    "starting_sd": Phase.PRINTING,
    "starting_streaming": Phase.PRINTING,
    "printing": Phase.PRINTING,
    "printing_sd": Phase.PRINTING,
    "printing_streaming": Phase.PRINTING,
    "printing from sd": Phase.PRINTING,
    "sending file to sd": Phase.UNKNOWN,
    "transferring_file": Phase.UNKNOWN,
    "pausing": Phase.PAUSED,
    "paused": Phase.PAUSED,
    "resuming": Phase.PRINTING,
    "finishing": Phase.FINISHING,
    "cancelling": Phase.CANCELLING,
    "error": Phase.FAILED,
    "offline_after_error": Phase.FAILED,
    "offline after error": Phase.FAILED,
    "offline": Phase.OFFLINE,
}
_MOONRAKER = {
    "standby": Phase.IDLE,
    "printing": Phase.PRINTING,
    "paused": Phase.PAUSED,
    "complete": Phase.COMPLETED,
    "cancelled": Phase.CANCELLED,
    "error": Phase.FAILED,
}
_ELEGOO = {
    "idle": Phase.IDLE,
    "printing": Phase.PRINTING,
    "preheating": Phase.STARTING,
    "leveling": Phase.STARTING,
    "homing": Phase.STARTING,
    "pausing": Phase.PAUSED,
    "paused": Phase.PAUSED,
    "stopping": Phase.CANCELLING,
    "stopped": Phase.CANCELLED,
    "complete": Phase.COMPLETED,
    "completed": Phase.COMPLETED,
    "error": Phase.FAILED,
}
_PHASES_BY_FAMILY = {
    "bambu_lab": _BAMBU,
    "prusa": _PRUSALINK,
    "octoprint": _OCTOPRINT,
    "klipper": _MOONRAKER,
    "elegoo": _ELEGOO,
}

BAMBU_BUS_EVENTS = {
    "event_print_started": EventKind.JOB_STARTED,
    "event_print_finished": EventKind.JOB_COMPLETED,
    "event_print_failed": EventKind.JOB_FAILED,
    "event_print_canceled": EventKind.JOB_CANCELLED,
    "event_print_error": EventKind.PRINTER_ERROR,
    "event_printer_error": EventKind.PRINTER_ERROR,
}


def _same_step(first: EventKind, second: EventKind) -> bool:
    """Both start a job, or both end one (a Bambu cancel shows as `failed` in the state)."""
    return first == second or (first in _OUTCOMES.values() and second in _OUTCOMES.values())


def family_for_platform(platform: str) -> str | None:
    """The printer family of a Home Assistant integration platform (None: not a printer platform)."""
    return FAMILY_BY_PLATFORM.get(platform)


def normalize_model(family: str, raw_model: str | None) -> str:
    """A model name safe to aggregate: Bambu Lab models upper-case from the known list, Elegoo machine
    names when they look like one, `unknown` otherwise (PrusaLink, OctoPrint and Moonraker report none)."""
    if not raw_model:
        return UNKNOWN_MODEL
    if family == "bambu_lab":
        compact = re.sub(r"[\s_-]", "", raw_model).upper()
        compact = _BAMBU_ALIASES.get(compact, compact)
        return compact if compact in BAMBU_MODELS else UNKNOWN_MODEL
    if family == "elegoo" and _SAFE_MODEL.fullmatch(raw_model.strip()):
        return raw_model.strip()
    return UNKNOWN_MODEL


def interpret(family: str, value: str) -> Phase:
    """The job phase a state value means on that family's integration (raw pre-2026.1 OctoPrint text is
    lower-cased first)."""
    return _PHASES_BY_FAMILY.get(family, {}).get(value.strip().lower(), Phase.UNKNOWN)


class PrinterTracker:
    """Turns one printer's successive job-state values into events.

    `timestamp`s are POSIX seconds. The tracker never reads a clock: debounced disconnections are
    resolved by the next `observe_state` or `poll` with a later timestamp, and dated when they began.
    """

    def __init__(
        self,
        printer_key: str,
        family: str,
        model: str,
        *,
        debounce_seconds: float = DISCONNECT_DEBOUNCE_SECONDS,
    ) -> None:
        self.printer_key = printer_key
        self.family = family
        self.model = model
        self._debounce = debounce_seconds
        self._phase: Phase | None = None  # last known job phase (kept across disconnections)
        self._connected: bool | None = None  # None: never observed
        self._unavailable_since: float | None = None
        self._uses_bus_events = False
        self._last_inferred: tuple[EventKind, float] | None = None

    @property
    def connected(self) -> bool | None:
        return self._connected

    @property
    def phase(self) -> Phase | None:
        return self._phase

    def observe_state(self, value: str | None, timestamp: float) -> list[UsageEvent]:
        """A new value of the printer's job-state entity (`None`/`unknown` entity states included)."""
        events = self.poll(timestamp)
        normalized = (value or "unknown").strip().lower()
        phase = (
            Phase.OFFLINE
            if normalized in _DISCONNECTED_VALUES
            else interpret(self.family, normalized)
        )
        if phase is Phase.OFFLINE:
            if self._connected is not False and self._unavailable_since is None:
                self._unavailable_since = timestamp
            return events
        self._unavailable_since = None
        if phase is Phase.UNKNOWN and self._connected is None:
            return events
        resumed = self._connected is not True
        if resumed:
            self._connected = True
            events.append(self._event(EventKind.PRINTER_CONNECTED, timestamp))
        if phase is Phase.UNKNOWN:
            return events
        events.extend(self._transition(self._phase, phase, timestamp, resumed=resumed))
        self._phase = phase
        return events

    def poll(self, timestamp: float) -> list[UsageEvent]:
        """Resolve a pending disconnection whose debounce has elapsed by `timestamp`."""
        since = self._unavailable_since
        if since is None or timestamp - since < self._debounce:
            return []
        self._unavailable_since = None
        if not self._connected:
            self._connected = False
            return []
        self._connected = False
        return [self._event(EventKind.PRINTER_DISCONNECTED, since)]

    def observe_bus_event(
        self,
        event_type: str,
        timestamp: float,
        *,
        code: str | None = None,
        severity: str | None = None,
    ) -> list[UsageEvent]:
        """A Bambu Lab `bambu_lab_event` of this printer (only its type, code and severity are read).
        From the first one on, job events come from the bus only."""
        kind = BAMBU_BUS_EVENTS.get(event_type)
        if kind is None:
            return []
        if kind is EventKind.PRINTER_ERROR:
            return [self._event(kind, timestamp, code=code or "unknown", severity=severity)]
        self._uses_bus_events = True
        inferred, self._last_inferred = self._last_inferred, None
        if (
            inferred is not None
            and _same_step(inferred[0], kind)
            and timestamp - inferred[1] <= BUS_DEDUPE_SECONDS
        ):
            return []
        return [self._event(kind, timestamp)]

    def error(self, code: str, severity: str | None, timestamp: float) -> UsageEvent:
        """A printer error seen on an error entity (code and severity only, never a message)."""
        return self._event(EventKind.PRINTER_ERROR, timestamp, code=code, severity=severity)

    def _transition(
        self, previous: Phase | None, phase: Phase, timestamp: float, *, resumed: bool
    ) -> list[UsageEvent]:
        kind: EventKind | None = None
        if phase in ACTIVE:
            if previous is None or (resumed and previous in ACTIVE):
                # Observation (re)started during a job: its print time counts, its start was not seen.
                return [self._event(EventKind.JOB_IN_PROGRESS, timestamp)]
            if previous not in ACTIVE:
                kind = EventKind.JOB_STARTED
        elif previous in ACTIVE:
            if phase in _OUTCOMES:
                kind = _OUTCOMES[phase]
            elif phase is Phase.IDLE and previous is Phase.FINISHING:
                kind = EventKind.JOB_COMPLETED
            elif phase is Phase.IDLE and previous is Phase.CANCELLING:
                kind = EventKind.JOB_CANCELLED
        if kind is None:
            return []
        if self._uses_bus_events:
            return []
        self._last_inferred = (kind, timestamp)
        return [self._event(kind, timestamp)]

    def _event(
        self,
        kind: EventKind,
        timestamp: float,
        *,
        code: str | None = None,
        severity: str | None = None,
    ) -> UsageEvent:
        return UsageEvent(
            kind=kind,
            timestamp=timestamp,
            printer_key=self.printer_key,
            family=self.family,
            model=self.model,
            error_code=code,
            severity=None if severity is None else severity.strip().lower() or None,
        )
