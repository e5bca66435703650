"""Value types shared by the engine and the Home Assistant layer.

Nothing identifying ever enters these types: printers are known by an opaque local key (a salted hash of
Home Assistant's device id that never leaves the machine), a family and a model; errors by code and severity.
"""

from dataclasses import dataclass, field
from enum import StrEnum


class EventKind(StrEnum):
    """What happened to a printer."""

    JOB_STARTED = "job_started"
    JOB_COMPLETED = "job_completed"
    JOB_FAILED = "job_failed"
    JOB_CANCELLED = "job_cancelled"
    PRINTER_CONNECTED = "printer_connected"
    PRINTER_DISCONNECTED = "printer_disconnected"
    PRINTER_ERROR = "printer_error"
    # A job first seen already running (never observed before, or a different job than the one
    # remembered): it opens a job and counts as started, like JOB_STARTED.
    JOB_IN_PROGRESS = "job_in_progress"
    # The job ended (printer idle again) with no evidence of how: its own outcome bucket.
    JOB_ENDED = "job_ended"
    # Print time stops and paused time starts (pause, waiting for the user).
    JOB_PAUSED = "job_paused"
    # Printing again: after a pause, a reconnection or a restart of Home Assistant (same job).
    JOB_RESUMED = "job_resumed"
    # Metres of filament the closing job used (emitted just before its outcome).
    FILAMENT_USED = "filament_used"


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One observation. `timestamp` is seconds since the epoch (UTC)."""

    kind: EventKind
    timestamp: float
    printer_key: str
    family: str
    model: str
    error_code: str | None = None
    severity: str | None = None
    amount: float | None = None  # FILAMENT_USED: metres


@dataclass(frozen=True, slots=True)
class PrinterInfo:
    """A printer as the fleet knows it: family (e.g. `bambu_lab`, `prusa`, `octoprint`, `klipper`,
    `elegoo`) and model (e.g. `X1C`; `unknown` when the integration reports none)."""

    family: str
    model: str


@dataclass(frozen=True, slots=True)
class FleetSnapshot:
    """The printers currently known, by opaque printer key."""

    printers: dict[str, PrinterInfo] = field(default_factory=dict)
