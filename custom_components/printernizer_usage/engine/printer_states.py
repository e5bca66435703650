"""What each printer integration's job-state values mean (`Phase`), and family/model normalisation.

The maps come from the integrations' own source; docs/printers.md cites it per value. The state machine
that turns phases into jobs is `job_tracker.PrinterTracker`.
"""

import re
from enum import IntEnum, auto

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
# Elegoo machine names (the integration's device model is the printer's `MachineName`). Only these are
# aggregated, so a renamed or unknown machine can never carry free text out.
ELEGOO_MODELS = frozenset(
    {
        "Centauri Carbon",
        "Centauri Carbon 2",
        "Centauri",
        "Neptune 4",
        "Neptune 4 Pro",
        "Neptune 4 Plus",
        "Neptune 4 Max",
        "Saturn 3 Ultra",
        "Saturn 4",
        "Saturn 4 Ultra",
        "Saturn 4 Ultra 16K",
        "Mars 4 Ultra",
        "Mars 5",
        "Mars 5 Ultra",
        "Jupiter SE",
    }
)
_ELEGOO_BY_KEY = {re.sub(r"[^A-Z0-9]", "", name.upper()): name for name in ELEGOO_MODELS}


class Phase(IntEnum):  # IntEnum: hashed in C, looked up on every observation
    """Where a printer's job is, independent of the platform (docs/printers.md has the evidence)."""

    IDLE = auto()  # no job: closes an open one
    STARTING = auto()  # a job is being prepared (heating, homing, levelling): opens a job
    PRINTING = auto()
    PAUSED = auto()
    FINISHING = auto()  # OctoPrint: the last moves of a job that completed
    CANCELLING = auto()  # a cancel is under way
    COMPLETED = auto()
    FAILED = auto()
    CANCELLED = auto()
    HOLD = auto()  # waiting (PrusaLink ATTENTION/BUSY, Bambu init/slicing): keeps a job, opens none
    NOT_A_JOB = auto()  # busy with something that is not a print (SD upload, calibration): as idle
    OFFLINE = auto()  # the printer says it is offline: a disconnection, like `unavailable`
    UNKNOWN = auto()  # a value that says nothing about the job


ACTIVE = frozenset(
    {Phase.STARTING, Phase.PRINTING, Phase.PAUSED, Phase.FINISHING, Phase.CANCELLING}
)
_DISCONNECTED_VALUES = frozenset({"unavailable", "offline"})

# ha-bambulab (pybambu `gcode_state`, lower-cased by the `print_status` sensor).
_BAMBU = {
    "failed": Phase.FAILED,  # a cancel also shows as `failed`: the cancel evidence decides
    "finish": Phase.COMPLETED,
    "idle": Phase.IDLE,
    "init": Phase.HOLD,
    "slicing": Phase.HOLD,
    "prepare": Phase.STARTING,
    "running": Phase.PRINTING,
    "pause": Phase.PAUSED,
    "offline": Phase.OFFLINE,
}
# Home Assistant core `prusalink` (`printer.state` of PrusaLink's /api/v1/status, lower-cased).
_PRUSALINK = {
    "idle": Phase.IDLE,
    "ready": Phase.IDLE,
    # Crash or power-panic recovery: the job, if any, goes on afterwards.
    "busy": Phase.HOLD,
    "printing": Phase.PRINTING,
    "paused": Phase.PAUSED,
    # The printer waits for the user: mid-job (filament runout) or in the pre-print preview before
    # any job exists. It keeps a job that is open but never opens one.
    "attention": Phase.HOLD,
    "finished": Phase.COMPLETED,
    "stopped": Phase.CANCELLED,
    "error": Phase.FAILED,
}
# Home Assistant core `octoprint`: the enum of 2026.1+ and the raw state text before it.
_OCTOPRINT = {
    "operational": Phase.IDLE,
    "open_serial": Phase.OFFLINE,
    "detect_serial": Phase.OFFLINE,
    "connecting": Phase.OFFLINE,
    "starting": Phase.STARTING,
    "starting_sd": Phase.STARTING,
    "printing": Phase.PRINTING,
    "printing_sd": Phase.PRINTING,
    "printing from sd": Phase.PRINTING,
    # OctoPrint's M28 "streaming": a file is uploaded to the SD card, nothing is printed.
    "starting_streaming": Phase.NOT_A_JOB,
    "printing_streaming": Phase.NOT_A_JOB,
    "sending file to sd": Phase.NOT_A_JOB,
    "transferring_file": Phase.NOT_A_JOB,
    "transferring file to sd": Phase.NOT_A_JOB,
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
# moonraker-home-assistant (`print_stats.state`); outcome states persist until the next job.
_MOONRAKER = {
    "standby": Phase.IDLE,
    "printing": Phase.PRINTING,
    "paused": Phase.PAUSED,
    "complete": Phase.COMPLETED,
    "cancelled": Phase.CANCELLED,
    "error": Phase.FAILED,
}
# elegoo-homeassistant (SDCP print status, lower-cased); `completed` is never produced, the CC1 firmware
# stays on `preheating_completed` for the whole job.
_ELEGOO = {
    "idle": Phase.IDLE,
    "printing": Phase.PRINTING,
    "lifting": Phase.PRINTING,
    "dropping": Phase.PRINTING,
    "recovery": Phase.PRINTING,
    "printing_recovery": Phase.PRINTING,
    "resuming": Phase.PRINTING,
    "pausing": Phase.PAUSED,
    "paused": Phase.PAUSED,
    "filament_unload_paused": Phase.PAUSED,
    "stopping": Phase.CANCELLING,
    "stopped": Phase.CANCELLED,
    "complete": Phase.COMPLETED,
    "error": Phase.FAILED,
    # The start-of-job routine, and the milestones the CC1 firmware "parks" on for a whole job
    # (V1.4.46 stays on `preheating_completed`). The same values appear during calibrations and
    # filament handling: the machine status (`current_status`) tells them apart (ELEGOO_CONTEXTUAL).
    "file_checking": Phase.STARTING,
    "printers_checking": Phase.STARTING,
    "print_started": Phase.STARTING,
    "homing": Phase.STARTING,
    "homing_completed": Phase.STARTING,
    "leveling": Phase.STARTING,
    "auto_leveling_completed": Phase.STARTING,
    "preheating": Phase.STARTING,
    "preheating_completed": Phase.PRINTING,
    "resonance_testing": Phase.STARTING,
    "resonance_testing_completed": Phase.STARTING,
    "auto_feeding": Phase.STARTING,
    "loading": Phase.STARTING,
    "filament_unloading": Phase.STARTING,
    "filament_unload_abnormal": Phase.STARTING,
}
# Elegoo print statuses that are part of a job only while the machine status says `printing`.
ELEGOO_CONTEXTUAL = frozenset(
    {
        "file_checking",
        "printers_checking",
        "print_started",
        "homing",
        "homing_completed",
        "leveling",
        "auto_leveling_completed",
        "preheating",
        "preheating_completed",
        "resonance_testing",
        "resonance_testing_completed",
        "auto_feeding",
        "loading",
        "filament_unloading",
        "filament_unload_abnormal",
    }
)
_PHASES_BY_FAMILY = {
    "bambu_lab": _BAMBU,
    "prusa": _PRUSALINK,
    "octoprint": _OCTOPRINT,
    "klipper": _MOONRAKER,
    "elegoo": _ELEGOO,
}

# Bambu Lab print-error codes of a user cancel ("The task was canceled.", "Printing was cancelled."):
# a cancel, never a printer error.
BAMBU_CANCEL_CODES = frozenset({"0300_400C", "0500_400E"})


def family_for_platform(platform: str) -> str | None:
    """The printer family of a Home Assistant integration platform (None: not a printer platform)."""
    return FAMILY_BY_PLATFORM.get(platform)


def normalize_model(family: str, raw_model: str | None) -> str:
    """A model name safe to aggregate: Bambu Lab and Elegoo models from their known lists, `unknown`
    otherwise (PrusaLink, OctoPrint and Moonraker report none; no free text ever passes)."""
    if not raw_model:
        return UNKNOWN_MODEL
    if family == "bambu_lab":
        compact = re.sub(r"[\s_-]", "", raw_model).upper()
        compact = _BAMBU_ALIASES.get(compact, compact)
        return compact if compact in BAMBU_MODELS else UNKNOWN_MODEL
    if family == "elegoo":
        key = re.sub(r"[^A-Z0-9]", "", raw_model.upper()).removeprefix("ELEGOO")
        return _ELEGOO_BY_KEY.get(key, UNKNOWN_MODEL)
    return UNKNOWN_MODEL


def interpret(family: str, value: str | None) -> Phase:
    """The job phase a state value means on that family's integration (raw pre-2026.1 OctoPrint text is
    lower-cased first; `unavailable`/`offline` are OFFLINE everywhere)."""
    normalized = (value or "unknown").strip().lower()
    if normalized in _DISCONNECTED_VALUES:
        return Phase.OFFLINE
    return _PHASES_BY_FAMILY.get(family, {}).get(normalized, Phase.UNKNOWN)
