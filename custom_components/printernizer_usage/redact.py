"""Redaction in one place: what never appears in diagnostics, the payload preview or the export.

Diagnostics and previews are posted in bug reports. Besides secrets and ids, exact moments would let such
a report be matched to the receiver's stored rows (a submission's timestamp, when a request was made):
every moment is shown at ISO-week precision (`2026-W46`), the receiver by its host only, a request's
outcome by its status only (the receiver's answer to a deletion names the installation id).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data

from .const import CONF_PRINTERNIZER_URL, CONF_SUBMIT_KEY, SETTING_PRINTER_KEY_SALT
from .engine.timeutil import as_utc

DIAGNOSTICS_REDACT = frozenset(
    {
        CONF_SUBMIT_KEY,
        CONF_PRINTERNIZER_URL,
        "secret",
        "installation_secret",
        "installation_id",
        SETTING_PRINTER_KEY_SALT,
    }
)

# The export is the user's own data: ids stay; the salt of the printer keys does not leave.
EXPORT_REDACT_SETTINGS = frozenset({SETTING_PRINTER_KEY_SALT})


def iso_week(moment: datetime | str | None) -> str | None:
    """`2026-W46`: the ISO week (UTC) of a moment, nothing finer."""
    if moment is None:
        return None
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return None
    year, week, _ = as_utc(moment).isocalendar()
    return f"{year}-W{week:02d}"


def coarsen_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as shown in previews and diagnostics: `submission_timestamp` (set when the payload
    is built) at week precision. `first_seen` is a week start in the payload itself."""
    coarse = dict(payload)
    if "submission_timestamp" in coarse:
        coarse["submission_timestamp"] = iso_week(coarse["submission_timestamp"])
    return coarse


def outcome(text: str | None) -> str | None:
    """What kind of failure a stored error was (`503`, `ClientConnectorError`), without the text."""
    return None if text is None else text.split(":", 1)[0][:40]


def redact_diagnostics(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` with identifying and secret values replaced by `**REDACTED**`."""
    redacted: dict[str, Any] = async_redact_data(data, DIAGNOSTICS_REDACT)
    return redacted


def redact_export(exported: dict[str, Any]) -> dict[str, Any]:
    """The export without the secrets it may contain."""
    settings = dict(exported.get("settings") or {})
    for key in EXPORT_REDACT_SETTINGS & settings.keys():
        settings[key] = REDACTED
    return {**exported, "settings": settings}
