"""Printernizer Usage: local printer-fleet usage statistics, optionally shared as anonymous weekly aggregates."""

import secrets
from datetime import datetime
from pathlib import Path

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.typing import ConfigType
from homeassistant.loader import async_get_integration
from homeassistant.util import dt as dt_util

from .const import (
    CONF_PRINTERNIZER_URL,
    CONF_RAW_RETENTION_DAYS,
    CONF_RECEIVER_URL,
    CONF_ROTATE_YEARLY,
    CONF_SHARING_ENABLED,
    CONF_SUBMIT_KEY,
    DATABASE_FILENAME,
    DEFAULT_RAW_RETENTION_DAYS,
    DOMAIN,
    HEARTBEAT_INTERVAL,
    SETTING_PRINTER_KEY_SALT,
)
from .context import async_host_facts
from .coordinator import UsageCoordinator
from .data import PrinternizerUsageConfigEntry, PrinternizerUsageData
from .delivery import DeliveryScheduler
from .engine.engine import UsageEngine
from .engine.printernizer_server import PrinternizerServer
from .engine.receiver_url import receiver_host, receiver_url_problem
from .fleet import FleetObserver
from .installation import (
    ReceiverBinding,
    async_migrate_legacy_settings,
    reconcile_installation,
)
from .issues import async_receiver_url_not_used
from .pending_deletions import async_orphaned_deletions
from .removal import async_delete_everything
from .services import async_setup_services

PLATFORMS: list[Platform] = [Platform.SENSOR]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


def database_path(hass: HomeAssistant) -> Path:
    """The one database file, in Home Assistant's configuration directory."""
    return Path(hass.config.path(DATABASE_FILENAME))


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions (they work on the loaded entry)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: PrinternizerUsageConfigEntry) -> bool:
    """Open the local store, reconcile the sharing choice, start observing the printers."""
    integration = await async_get_integration(hass, DOMAIN)
    engine = await UsageEngine.open(
        database_path(hass),
        clock=dt_util.utcnow,
        raw_retention_days=int(
            entry.options.get(CONF_RAW_RETENTION_DAYS, DEFAULT_RAW_RETENTION_DAYS)
        ),
    )
    runtime: PrinternizerUsageData | None = None
    receiver = ReceiverBinding(entry.data[CONF_RECEIVER_URL], entry.data[CONF_SUBMIT_KEY])
    try:
        salt = await engine.get_setting(SETTING_PRINTER_KEY_SALT)
        if salt is None:
            salt = secrets.token_hex(16)
            await engine.set_setting(SETTING_PRINTER_KEY_SALT, salt)
        await async_migrate_legacy_settings(engine, receiver)
        await async_orphaned_deletions(hass).async_adopt(engine)
        sharing = bool(entry.options.get(CONF_SHARING_ENABLED, False))
        rotate_yearly = bool(entry.options.get(CONF_ROTATE_YEARLY, False))
        identity = await reconcile_installation(
            engine,
            sharing_enabled=sharing,
            rotate_yearly=rotate_yearly,
            receiver=receiver,
            now=dt_util.utcnow(),
        )
        session = async_get_clientsession(hass)
        server_url = entry.options.get(CONF_PRINTERNIZER_URL)
        scheduler = DeliveryScheduler(
            hass,
            entry,
            engine=engine,
            facts=await async_host_facts(hass, str(integration.version or "0.0.0")),
            identity=identity,
            session=session,
            rotate_yearly=rotate_yearly,
            printernizer_server=PrinternizerServer(session, str(server_url))
            if server_url
            else None,
        )
        await scheduler.async_restore()
        async_receiver_url_not_used(
            hass,
            receiver_url_problem(receiver.receiver_url) if sharing else None,
            receiver_host(receiver.receiver_url),
        )
        coordinator = UsageCoordinator(
            hass,
            entry,
            engine=engine,
            scheduler=scheduler,
            integration_version=scheduler.facts.integration_version,
        )
        scheduler.on_change = coordinator.async_request_refresh
        fleet = FleetObserver(hass, engine, salt, on_events=coordinator.async_request_refresh)
        fleet.async_start()
        runtime = PrinternizerUsageData(
            engine=engine, coordinator=coordinator, scheduler=scheduler, fleet=fleet
        )
        await coordinator.async_config_entry_first_refresh()
    except BaseException:
        if runtime is not None:
            await runtime.async_close()
        else:
            await engine.close()
        raise
    entry.runtime_data = runtime

    async def _heartbeat(_now: datetime) -> None:
        await engine.heartbeat()

    @callback
    def _start(_hass: HomeAssistant) -> None:
        if runtime.closed:
            return
        # Uptime is measured from Home Assistant's real run time; the schedule starts once it runs.
        entry.async_on_unload(
            async_track_time_interval(
                hass, _heartbeat, HEARTBEAT_INTERVAL, name=f"{DOMAIN} heartbeat"
            )
        )
        scheduler.async_start()

    entry.async_on_unload(async_at_started(hass, _start))

    async def _close_on_stop(_event: Event) -> None:
        await runtime.async_close()

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _close_on_stop))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: PrinternizerUsageConfigEntry) -> bool:
    """Stop observing and close the local store (everything buffered is written)."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_close()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: PrinternizerUsageConfigEntry) -> None:
    """The integration is removed: ask the receiver to delete everything sent (bounded in time; what
    is not confirmed is kept for a later set-up), then delete the database."""
    path = database_path(hass)
    if not await hass.async_add_executor_job(path.exists):
        return
    await async_delete_everything(
        hass, path, ReceiverBinding(entry.data[CONF_RECEIVER_URL], entry.data[CONF_SUBMIT_KEY])
    )
