"""Finds the printers of the 3D-printer integrations through the entity and device registries and turns
their job-state changes (and Bambu Lab's own bus events) into `UsageEvent`s for the engine.

Printers are recognised by platform plus translation_key or unique_id (never by entity_id or names) and
known to the engine only by a salted hash of their device id. Names, serials, addresses, file names and
messages are never read.
"""

import hashlib
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event, async_track_time_interval

from .const import BAMBU_EVENT, FLEET_POLL_INTERVAL
from .engine.engine import UsageEngine
from .engine.models import FleetSnapshot, PrinterInfo, UsageEvent
from .engine.printer_states import PrinterTracker, family_for_platform, normalize_model

BAMBU_LAB = "bambu_lab"
PRUSALINK = "prusalink"
OCTOPRINT = "octoprint"
MOONRAKER = "moonraker"
ELEGOO = "elegoo_printer"
PRINTER_PLATFORMS = frozenset({BAMBU_LAB, PRUSALINK, OCTOPRINT, MOONRAKER, ELEGOO})


def is_job_state_entity(entry: er.RegistryEntry) -> bool:
    """Whether `entry` is the job-state sensor of a printer (see the printer-integrations reference)."""
    if entry.domain != Platform.SENSOR:
        return False
    unique_id = str(entry.unique_id)
    match entry.platform:
        case "bambu_lab" | "elegoo_printer":
            return entry.translation_key == "print_status" or unique_id.endswith("_print_status")
        case "prusalink":
            return entry.translation_key == "printer_state" or unique_id.endswith("_printer.state")
        case "octoprint":
            return entry.translation_key == "status" or unique_id.startswith("Current State-")
        case "moonraker":
            return unique_id == f"{entry.config_entry_id}_print_state"
    return False


def printer_key(salt: str, device_id: str) -> str:
    """The opaque local key of a printer: a salted hash of its device id (which never leaves HA)."""
    return hashlib.sha256(f"{salt}:{device_id}".encode()).hexdigest()[:24]


@dataclass(slots=True)
class WatchedPrinter:
    """A printer being observed."""

    device_id: str
    key: str
    info: PrinterInfo
    job_state_entity_id: str
    tracker: PrinterTracker


class FleetObserver:
    """Keeps the set of printers in step with the registries and feeds their events to the engine."""

    def __init__(
        self,
        hass: HomeAssistant,
        engine: UsageEngine,
        salt: str,
        on_events: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        """Observe nothing until `async_start`."""
        self._hass = hass
        self._engine = engine
        self._salt = salt
        self._on_events = on_events
        self._printers: dict[str, WatchedPrinter] = {}  # by device id
        self._by_entity_id: dict[str, WatchedPrinter] = {}
        self._unsub_states: CALLBACK_TYPE | None = None
        self._unsubs: list[CALLBACK_TYPE] = []
        self._refresh_requested = False

    @property
    def printers(self) -> dict[str, WatchedPrinter]:
        """The printers observed now, by device id."""
        return self._printers

    @callback
    def async_start(self) -> None:
        """Scan the registries, then follow them, the job-state sensors and Bambu Lab's events."""
        self._unsubs = [
            self._hass.bus.async_listen(
                er.EVENT_ENTITY_REGISTRY_UPDATED, self._async_entity_registry_updated
            ),
            self._hass.bus.async_listen(
                dr.EVENT_DEVICE_REGISTRY_UPDATED, self._async_device_registry_updated
            ),
            self._hass.bus.async_listen(BAMBU_EVENT, self._async_bambu_event),
            async_track_time_interval(
                self._hass, self._async_poll, FLEET_POLL_INTERVAL, name="printernizer_usage poll"
            ),
        ]
        self.async_rescan()

    @callback
    def async_stop(self) -> None:
        """Stop following the registries, states and events."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs = []
        if self._unsub_states is not None:
            self._unsub_states()
            self._unsub_states = None

    # --- registries ---------------------------------------------------------------------------

    @callback
    def async_rescan(self) -> None:
        """Bring the watched printers in line with the registries (printers added or removed)."""
        entities = er.async_get(self._hass)
        devices = dr.async_get(self._hass)
        found: dict[str, tuple[er.RegistryEntry, dr.DeviceEntry]] = {}
        for entry in entities.entities.values():
            if entry.platform not in PRINTER_PLATFORMS or entry.disabled or entry.device_id is None:
                continue
            if not is_job_state_entity(entry):
                continue
            device = devices.async_get(entry.device_id)
            # AMS units, external spools and other accessories are child or via devices.
            if (
                not isinstance(device, dr.DeviceEntry)
                or device.disabled
                or device.via_device_id is not None
            ):
                continue
            found[device.id] = (entry, device)

        now = time.time()
        for device_id in self._printers.keys() - found.keys():
            self._printers.pop(device_id)
        for device_id, (entry, device) in found.items():
            watched = self._printers.get(device_id)
            if watched is not None and watched.job_state_entity_id == entry.entity_id:
                continue
            family = family_for_platform(entry.platform) or entry.platform
            info = PrinterInfo(family=family, model=normalize_model(family, device.model))
            key = printer_key(self._salt, device_id)
            watched = WatchedPrinter(
                device_id=device_id,
                key=key,
                info=info,
                job_state_entity_id=entry.entity_id,
                tracker=PrinterTracker(key, info.family, info.model),
            )
            self._printers[device_id] = watched
            if (state := self._hass.states.get(entry.entity_id)) is not None:
                self._record(watched.tracker.observe_state(state.state, now))

        self._by_entity_id = {p.job_state_entity_id: p for p in self._printers.values()}
        self._engine.update_fleet(FleetSnapshot({p.key: p.info for p in self._printers.values()}))
        if self._unsub_states is not None:
            self._unsub_states()
        self._unsub_states = async_track_state_change_event(
            self._hass, list(self._by_entity_id), self._async_state_changed
        )

    @callback
    def _async_entity_registry_updated(
        self, event: Event[er.EventEntityRegistryUpdatedData]
    ) -> None:
        entity_ids = {event.data["entity_id"], event.data.get("old_entity_id")}
        if entity_ids & self._by_entity_id.keys():
            self.async_rescan()
            return
        entry = er.async_get(self._hass).async_get(event.data["entity_id"])
        if entry is not None and entry.platform in PRINTER_PLATFORMS:
            self.async_rescan()

    @callback
    def _async_device_registry_updated(
        self, event: Event[dr.EventDeviceRegistryUpdatedData]
    ) -> None:
        device_id = event.data["device_id"]
        if device_id in self._printers:
            self.async_rescan()
            return
        device = dr.async_get(self._hass).async_get(device_id)
        if device is None:
            return
        config_entry = self._hass.config_entries.async_get_entry(device.config_entry_id)
        if config_entry is not None and config_entry.domain in PRINTER_PLATFORMS:
            self.async_rescan()

    # --- events -------------------------------------------------------------------------------

    @callback
    def _async_state_changed(self, event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        watched = self._by_entity_id.get(event.data["entity_id"])
        if new_state is None or watched is None:
            return
        self._record(
            watched.tracker.observe_state(new_state.state, new_state.last_changed_timestamp)
        )

    @callback
    def _async_bambu_event(self, event: Event[dict[str, Any]]) -> None:
        # Only the device id, the type and an error code are read; `name` is user-set and dropped.
        watched = self._printers.get(str(event.data.get("device_id")))
        event_type = event.data.get("type")
        if watched is None or not isinstance(event_type, str):
            return
        code = event.data.get("code")
        self._record(
            watched.tracker.observe_bus_event(
                event_type, event.time_fired_timestamp, code=None if code is None else str(code)
            )
        )

    @callback
    def _async_poll(self, _now: Any) -> None:
        now = time.time()
        for watched in list(self._printers.values()):
            self._record(watched.tracker.poll(now))

    @callback
    def _record(self, events: Iterable[UsageEvent]) -> None:
        recorded = False
        for usage_event in events:
            self._engine.record(usage_event)
            recorded = True
        if recorded and not self._refresh_requested:
            # One task per burst, not one per event: the loop stays cheap under thousands of changes.
            self._refresh_requested = True
            self._hass.async_create_background_task(
                self._async_refresh_after_events(), "printernizer_usage refresh", eager_start=False
            )

    async def _async_refresh_after_events(self) -> None:
        self._refresh_requested = False
        await self._on_events()

    def diagnostics(self) -> list[dict[str, str]]:
        """The observed printers as the engine knows them (family and model only)."""
        return [{"family": p.info.family, "model": p.info.model} for p in self._printers.values()]
