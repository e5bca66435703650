"""Actions: preview and submit the weekly payload, export and delete local data, delete remote data."""

from typing import Any, cast

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util.json import JsonObjectType

from .const import DOMAIN
from .data import PrinternizerUsageConfigEntry
from .redact import coarsen_payload, redact_export

SERVICE_PREVIEW_NEXT_PAYLOAD = "preview_next_payload"
SERVICE_SUBMIT_NOW = "submit_now"
SERVICE_EXPORT_DATA = "export_data"
SERVICE_DELETE_LOCAL_DATA = "delete_local_data"
SERVICE_DELETE_REMOTE_DATA = "delete_remote_data"


def _loaded_entry(hass: HomeAssistant) -> PrinternizerUsageConfigEntry:
    entries = hass.config_entries.async_loaded_entries(DOMAIN)
    if not entries:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_loaded")
    return cast(PrinternizerUsageConfigEntry, entries[0])


async def _preview_next_payload(call: ServiceCall) -> ServiceResponse:
    """The next payload; its timestamps at week precision (a posted preview cannot be matched to
    the receiver's rows by them)."""
    scheduler = _loaded_entry(call.hass).runtime_data.scheduler
    payload = coarsen_payload(await scheduler.async_preview_payload())
    return {"sharing_enabled": scheduler.sharing_enabled, "payload": payload}


async def _submit_now(call: ServiceCall) -> ServiceResponse:
    scheduler = _loaded_entry(call.hass).runtime_data.scheduler
    if not scheduler.sharing_enabled:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="sharing_disabled")
    report = await scheduler.async_submit_now()
    if report.auth_failed_status is not None:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="credentials_rejected",
            translation_placeholders={"status": str(report.auth_failed_status)},
        )
    if report.reachable is False:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="receiver_unreachable",
            translation_placeholders={
                "error": report.error or "",
                "pending": str(report.pending),
            },
        )
    return {
        "sent": report.sent,
        "rejected": report.rejected,
        "pending": report.pending,
        "retry_at": report.retry_at.isoformat() if report.retry_at else None,
    }


async def _export_data(call: ServiceCall) -> ServiceResponse:
    runtime = _loaded_entry(call.hass).runtime_data
    exported: dict[str, Any] = await runtime.engine.export_all()
    return cast(JsonObjectType, redact_export(exported))


async def _delete_local_data(call: ServiceCall) -> None:
    runtime = _loaded_entry(call.hass).runtime_data
    await runtime.engine.delete_local_data()
    await runtime.coordinator.async_refresh()


async def _delete_remote_data(call: ServiceCall) -> None:
    """Every identity's data (the current one and those retired by rotation or opt-out)."""
    runtime = _loaded_entry(call.hass).runtime_data
    if not await runtime.engine.identities.all():
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="nothing_to_delete")
    if not await runtime.scheduler.async_request_remote_deletion():
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="deletion_failed")


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions (once, independent of the config entry)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_PREVIEW_NEXT_PAYLOAD,
        _preview_next_payload,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_SUBMIT_NOW, _submit_now, supports_response=SupportsResponse.OPTIONAL
    )
    hass.services.async_register(
        DOMAIN, SERVICE_EXPORT_DATA, _export_data, supports_response=SupportsResponse.ONLY
    )
    hass.services.async_register(DOMAIN, SERVICE_DELETE_LOCAL_DATA, _delete_local_data)
    hass.services.async_register(DOMAIN, SERVICE_DELETE_REMOTE_DATA, _delete_remote_data)
