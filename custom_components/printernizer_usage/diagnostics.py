"""Diagnostics: the settings, the exact next payload, the outbox and the audit log (redacted)."""

from dataclasses import asdict
from typing import Any

from homeassistant.core import HomeAssistant

from .data import PrinternizerUsageConfigEntry
from .redact import redact_diagnostics


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PrinternizerUsageConfigEntry
) -> dict[str, Any]:
    """Everything the user needs to see what was and will be sent."""
    coordinator = entry.runtime_data.coordinator
    engine = coordinator.engine
    return redact_diagnostics(
        {
            "entry": {"data": dict(entry.data), "options": dict(entry.options)},
            "sharing_enabled": coordinator.sharing_enabled,
            "installation_first_seen": (
                coordinator.installation.first_seen.isoformat()
                if coordinator.installation
                else None
            ),
            "host": asdict(coordinator.facts),
            "raw_retention_days": engine.raw_retention_days,
            "watched_printers": entry.runtime_data.fleet.diagnostics(),
            "next_payload": await coordinator.async_preview_payload(),
            "outbox": [_jsonable(asdict(item)) for item in await engine.outbox()],
            "audit_log": [_jsonable(asdict(item)) for item in await engine.audit_log(limit=100)],
            "pending_remote_deletions": await coordinator.async_pending_deletions(),
        }
    )


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if hasattr(value, "isoformat") else value
        for key, value in row.items()
    }
