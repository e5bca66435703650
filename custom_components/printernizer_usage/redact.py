"""Redaction in one place: what never appears in diagnostics or in the export response."""

import json
from collections.abc import Mapping
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data

from .const import (
    CONF_PRINTERNIZER_URL,
    CONF_SUBMIT_KEY,
    SETTING_INSTALLATION_ID,
    SETTING_INSTALLATION_SECRET,
    SETTING_PENDING_DELETIONS,
    SETTING_PRINTER_KEY_SALT,
)

# Diagnostics are shared in bug reports: hide everything that ties them to an installation.
DIAGNOSTICS_REDACT = frozenset(
    {
        CONF_SUBMIT_KEY,
        CONF_PRINTERNIZER_URL,
        "secret",
        "installation_secret",
        "installation_id",
        SETTING_INSTALLATION_ID,
        SETTING_INSTALLATION_SECRET,
        SETTING_PRINTER_KEY_SALT,
        SETTING_PENDING_DELETIONS,
    }
)

# The export is the user's own data: keep the installation id, hide the secrets that prove ownership.
EXPORT_REDACT_SETTINGS = frozenset({SETTING_INSTALLATION_SECRET, SETTING_PRINTER_KEY_SALT})


def redact_diagnostics(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` with identifying and secret values replaced by `**REDACTED**`."""
    redacted: dict[str, Any] = async_redact_data(data, DIAGNOSTICS_REDACT)
    return redacted


def redact_export(exported: dict[str, Any]) -> dict[str, Any]:
    """The export with secrets replaced (settings and the pending remote deletions)."""
    settings = dict(exported.get("settings") or {})
    for key in EXPORT_REDACT_SETTINGS & settings.keys():
        settings[key] = REDACTED
    if settings.get(SETTING_PENDING_DELETIONS):
        pending = json.loads(settings[SETTING_PENDING_DELETIONS])
        settings[SETTING_PENDING_DELETIONS] = json.dumps(
            [{**item, "secret": REDACTED} for item in pending]
        )
    return {**exported, "settings": settings}
