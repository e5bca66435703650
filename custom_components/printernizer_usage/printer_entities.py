"""Which entities of a printer integration carry job evidence, and how their states are read.

Entities are recognised by platform plus translation_key or unique_id (never by entity_id or names;
docs/printers.md cites each integration's source). Only values are read: never names, file names,
messages, serials or addresses (Bambu Lab's error texts and wiki links in attributes are skipped).
"""

import math
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from homeassistant.const import Platform, UnitOfLength
from homeassistant.core import State
from homeassistant.helpers import entity_registry as er

from .engine.job_tracker import is_bambu_cancel_code


class Role(StrEnum):
    """What an entity tells about a printer's jobs."""

    JOB_STATE = "job_state"
    PROGRESS = "progress"
    FILAMENT_USED = "filament_used"  # used so far in this job
    FILAMENT_PLANNED = "filament_planned"  # the job's planned total (slicer estimate)
    HMS_ERRORS = "hms_errors"  # Bambu Lab: every active HMS code in the attributes
    PRINT_ERROR = "print_error"  # Bambu Lab: the current print error's code in the attributes
    ERROR_ENUM = "error_enum"  # an enum sensor whose value is an error name (`none`/`ok`: no error)
    KLIPPY_STATE = "klippy_state"  # Moonraker: Klipper's own state (shutdown/error = a fault)
    MACHINE_STATUS = "machine_status"  # Elegoo: what the machine is doing (printing or not)
    PRINT_TYPE = "print_type"  # Bambu Lab: `system` for calibrations


def _key(entry: er.RegistryEntry) -> str | None:
    return entry.translation_key


def role_of(entry: er.RegistryEntry) -> Role | None:
    """The role of a registry entry of one of the printer platforms (None: not one we read)."""
    unique_id = str(entry.unique_id)
    key = _key(entry)
    sensor = entry.domain == Platform.SENSOR
    binary = entry.domain == Platform.BINARY_SENSOR
    match entry.platform:
        case "bambu_lab":
            if sensor:
                return _suffix_role(
                    key,
                    unique_id,
                    {
                        "print_status": Role.JOB_STATE,
                        "print_progress": Role.PROGRESS,
                        "print_length": Role.FILAMENT_PLANNED,
                        "print_type": Role.PRINT_TYPE,
                    },
                )
            if binary:
                return _suffix_role(
                    key,
                    unique_id,
                    {"hms_errors": Role.HMS_ERRORS, "print_error": Role.PRINT_ERROR},
                )
        case "prusalink" if sensor:
            if key == "printer_state" or unique_id.endswith("_printer.state"):
                return Role.JOB_STATE
            if key == "progress" or unique_id.endswith("_job.progress"):
                return Role.PROGRESS
        case "octoprint" if sensor:
            if key == "status" or unique_id.startswith("Current State-"):
                return Role.JOB_STATE
            if unique_id.startswith("Job Percentage-"):
                return Role.PROGRESS
        case "moonraker" if sensor:
            suffix = unique_id.removeprefix(f"{entry.config_entry_id}_")
            return {
                "print_state": Role.JOB_STATE,
                "print_progress": Role.PROGRESS,
                "progress": Role.PROGRESS,
                "filament_used": Role.FILAMENT_USED,
                "printer_information_state": Role.KLIPPY_STATE,
                "state": Role.KLIPPY_STATE,
            }.get(suffix)
        case "elegoo_printer" if sensor:
            return _suffix_role(
                key,
                unique_id,
                {
                    "print_status": Role.JOB_STATE,
                    "current_status": Role.MACHINE_STATUS,
                    "percent_complete": Role.PROGRESS,
                    "total_extrusion": Role.FILAMENT_USED,
                    "print_error": Role.ERROR_ENUM,
                    "current_print_error_status_reason": Role.ERROR_ENUM,
                },
            )
    return None


def _suffix_role(key: str | None, unique_id: str, roles: Mapping[str, Role]) -> Role | None:
    if key is not None and key in roles:
        return roles[key]
    for suffix, role in roles.items():
        if unique_id.endswith(f"_{suffix}"):
            return role
    return None


def as_number(state: State | None) -> float | None:
    """A numeric state, None when unknown/unavailable/not a number."""
    if state is None:
        return None
    try:
        value = float(state.state)
    except TypeError, ValueError:
        return None
    return value if math.isfinite(value) else None


def filament_metres(state: State | None) -> float | None:
    """A filament length state in metres (the entity's unit: m, mm or cm)."""
    value = as_number(state)
    if value is None or state is None:
        return None
    unit = state.attributes.get("unit_of_measurement")
    scale = {
        UnitOfLength.MILLIMETERS: 0.001,
        UnitOfLength.CENTIMETERS: 0.01,
        UnitOfLength.METERS: 1.0,
        None: 0.001,  # Moonraker's and Elegoo's raw extrusion are millimetres
    }.get(unit)
    return None if scale is None else value * scale


_HMS_CODE_KEY = re.compile(r"(\d{1,2})-Code")
_NO_ERROR = frozenset({"none", "ok", "unknown", "unavailable", ""})


def active_errors(role: Role, state: State | None) -> dict[str, str | None]:
    """The error codes (with severity when known) an error entity shows as active now."""
    if state is None or state.state in ("unknown", "unavailable"):
        return {}
    attributes: Mapping[str, Any] = state.attributes
    match role:
        case Role.HMS_ERRORS:
            if state.state != "on":
                return {}
            codes: dict[str, str | None] = {}
            for name, code in attributes.items():
                if (found := _HMS_CODE_KEY.fullmatch(str(name))) and code:
                    severity = attributes.get(f"{found.group(1)}-Severity")
                    codes[str(code)] = None if severity is None else str(severity)
            return codes
        case Role.PRINT_ERROR:
            code = attributes.get("code")
            if state.state != "on" or not code or is_bambu_cancel_code(code):
                return {}
            return {str(code): None}
        case Role.ERROR_ENUM:
            value = state.state.strip().lower()
            return {} if value in _NO_ERROR else {value: None}
        case Role.KLIPPY_STATE:
            value = state.state.strip().lower()
            return {f"klippy_{value}": None} if value in ("shutdown", "error") else {}
    return {}
