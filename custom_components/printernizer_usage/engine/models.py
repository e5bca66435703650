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
    # A job already running when observation (re)started: counts print time, never a started job.
    JOB_IN_PROGRESS = "job_in_progress"


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
