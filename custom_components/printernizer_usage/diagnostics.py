"""Diagnostics: the settings, the next payload, the outbox, the audit log and the sharing identities,
redacted and coarsened (`redact.py`): no secret, id or exact moment, the receiver by its host only."""

from dataclasses import asdict
from typing import Any

from homeassistant.core import HomeAssistant

from .const import CONF_RECEIVER_URL
from .data import PrinternizerUsageConfigEntry
from .engine.receiver_url import receiver_host, receiver_url_problem
from .redact import coarsen_payload, iso_week, outcome, redact_diagnostics


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PrinternizerUsageConfigEntry
) -> dict[str, Any]:
    """Everything the user needs to see what was and will be sent."""
    runtime = entry.runtime_data
    scheduler = runtime.scheduler
    engine = runtime.engine
    identity = scheduler.identity
    receiver_url = str(entry.data[CONF_RECEIVER_URL])
    problem = receiver_url_problem(receiver_url)
    server = scheduler.printernizer_server
    return redact_diagnostics(
        {
            "entry": {
                "data": {
                    **{k: v for k, v in entry.data.items() if k != CONF_RECEIVER_URL},
                    "receiver_host": receiver_host(receiver_url),
                    "receiver_url_problem": None if problem is None else problem.value,
                },
                "options": dict(entry.options),
            },
            "sharing_enabled": scheduler.sharing_enabled,
            "first_shared_week": iso_week(identity.first_week) if identity else None,
            "host": asdict(scheduler.facts),
            "raw_retention_days": engine.raw_retention_days,
            "watched_printers": runtime.fleet.diagnostics(),
            "printernizer_server": None if server is None else {"note": server.note},
            "next_payload": coarsen_payload(await scheduler.async_preview_payload()),
            "outbox": [
                {
                    "week": iso_week(item.period_start),
                    "status": item.status,
                    "attempts": item.attempts,
                    "next_attempt_week": iso_week(item.next_attempt_at),
                    "last_error": outcome(item.last_error),
                }
                for item in await engine.outbox.items()
            ],
            "audit_log": [
                {
                    "request_week": iso_week(item.at),
                    "action": item.action,
                    "week": iso_week(item.period_start),
                    "status_code": item.status_code,
                }
                for item in await engine.outbox.audit_entries(limit=100)
            ],
            "identities": [
                {
                    "role": "current" if item.current else "retired",
                    "receiver_host": receiver_host(item.receiver_url),
                    "first_week": iso_week(item.first_week),
                    "credentials_refused": item.refused_status,
                    "deletion_requested": item.deletion_requested,
                    "deletion_attempts": item.deletion_attempts,
                }
                for item in await engine.identities.all()
            ],
        }
    )
