"""Finds the printers of the 3D-printer integrations through the entity and device registries and turns
what their entities show (job state, progress, errors, filament) and Bambu Lab's own bus events into
`UsageEvent`s for the engine.

Printers are recognised by platform plus translation_key or unique_id (never by entity_id or names) and
known to the engine only by a salted hash of their device id. Names, serials, addresses, file names and
messages are never read.
"""

import hashlib
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event, async_track_time_interval

from .const import BAMBU_EVENT, FLEET_POLL_INTERVAL
from .engine.engine import UsageEngine
from .engine.job_tracker import PrinterTracker
from .engine.models import FleetSnapshot, PrinterInfo, UsageEvent
from .engine.printer_states import family_for_platform, normalize_model
from .printer_entities import Role, active_errors, as_number, filament_metres, role_of

BAMBU_LAB = "bambu_lab"
PRUSALINK = "prusalink"
OCTOPRINT = "octoprint"
MOONRAKER = "moonraker"
ELEGOO = "elegoo_printer"
PRINTER_PLATFORMS = frozenset({BAMBU_LAB, PRUSALINK, OCTOPRINT, MOONRAKER, ELEGOO})


def _errors_from_bus(roles: dict[str, Role]) -> bool:
    """Bambu Lab printers whose error entities are not in Home Assistant: count the bus events."""
    return not {Role.HMS_ERRORS, Role.PRINT_ERROR} & set(roles.values())


_ERROR_ROLES = frozenset({Role.HMS_ERRORS, Role.PRINT_ERROR, Role.ERROR_ENUM, Role.KLIPPY_STATE})


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
    evidence: dict[str, Role]  # the printer's other entities that carry job evidence, by entity id


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
        self._dirty: set[str] = set()  # device ids whose entities changed in this loop iteration
        # Job-state values written in this loop iteration, by device id: all are observed, in order.
        self._job_states: dict[str, list[State]] = {}
        self._listeners: list[Callable[[], None]] = []

    @property
    def printers(self) -> dict[str, WatchedPrinter]:
        """The printers observed now, by device id."""
        return self._printers

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` after every rescan (printers added, removed or their devices changed)."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

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
        """Stop following the registries, states and events; open jobs stay open (persisted)."""
        self.async_save_jobs()
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
        evidence: dict[str, dict[str, Role]] = {}
        for entry in entities.entities.values():
            if entry.platform not in PRINTER_PLATFORMS or entry.disabled or entry.device_id is None:
                continue
            role = role_of(entry)
            if role is None:
                continue
            if role is not Role.JOB_STATE:
                evidence.setdefault(entry.device_id, {})[entry.entity_id] = role
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
            gone = self._printers.pop(device_id)
            self._record(gone, gone.tracker.end_job(now))
        for device_id, (entry, device) in found.items():
            watched = self._printers.get(device_id)
            roles = evidence.get(device_id, {})
            if watched is not None and watched.job_state_entity_id == entry.entity_id:
                watched.evidence = roles
                watched.tracker.errors_from_bus = _errors_from_bus(roles)
                continue
            family = family_for_platform(entry.platform) or entry.platform
            info = PrinterInfo(family=family, model=normalize_model(family, device.model))
            key = printer_key(self._salt, device_id)
            watched = WatchedPrinter(
                device_id=device_id,
                key=key,
                info=info,
                job_state_entity_id=entry.entity_id,
                tracker=PrinterTracker(
                    key, info.family, info.model, restored=self._engine.open_job(key)
                ),
                evidence=roles,
            )
            watched.tracker.errors_from_bus = _errors_from_bus(roles)
            self._printers[device_id] = watched
            if self._hass.states.get(entry.entity_id) is not None:
                self._observe(watched, now)

        self._by_entity_id = {}
        for watched in self._printers.values():
            self._by_entity_id[watched.job_state_entity_id] = watched
            for entity_id in watched.evidence:
                self._by_entity_id[entity_id] = watched
        self._engine.update_fleet(FleetSnapshot({p.key: p.info for p in self._printers.values()}))
        if self._unsub_states is not None:
            self._unsub_states()
        self._unsub_states = async_track_state_change_event(
            self._hass, list(self._by_entity_id), self._async_state_changed
        )
        for listener in list(self._listeners):
            listener()

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
        watched = self._by_entity_id.get(event.data["entity_id"])
        new_state = event.data["new_state"]
        if new_state is None or watched is None:
            return
        if event.data["entity_id"] == watched.job_state_entity_id:
            # Elegoo's CC2 replays its transitions (a COMPLETE that lasted an instant, then IDLE) in
            # one go (coordinator.py `_replay_cc2_print_status_transitions`): keep every value.
            self._job_states.setdefault(watched.device_id, []).append(new_state)
        # An integration writes all its entities in one go, in no fixed order: read the printer once
        # they are all written, so the job state is judged with this poll's progress and errors.
        if not self._dirty:
            self._hass.loop.call_soon(self._observe_dirty)
        self._dirty.add(watched.device_id)

    @callback
    def _observe_dirty(self) -> None:
        dirty, self._dirty = self._dirty, set()
        job_states, self._job_states = self._job_states, {}
        for device_id in dirty:
            if (watched := self._printers.get(device_id)) is not None:
                self._observe(watched, time.time(), job_states.get(device_id, [])[:-1])

    @callback
    def _observe(
        self, watched: WatchedPrinter, now: float, overwritten: Iterable[State] = ()
    ) -> None:
        """Feed the tracker the printer's evidence, then its job state (after the `overwritten`
        values it had since the last read)."""
        tracker = watched.tracker
        states = self._hass.states
        errors: dict[str, str | None] = {}
        machine_status: str | None = None
        system_job = False
        for entity_id, role in watched.evidence.items():
            state = states.get(entity_id)
            if role is Role.PROGRESS:
                tracker.observe_progress(as_number(state), now)
            elif role in (Role.FILAMENT_USED, Role.FILAMENT_PLANNED):
                tracker.observe_filament(
                    filament_metres(state), now, estimate=role is Role.FILAMENT_PLANNED
                )
            elif role in _ERROR_ROLES:
                errors |= active_errors(role, state)
            elif role is Role.MACHINE_STATUS and state is not None:
                machine_status = state.state
            elif role is Role.PRINT_TYPE and state is not None:
                system_job = state.state == "system"
        tracker.observe_context(machine_status=machine_status, system_job=system_job)
        events = tracker.observe_errors(errors, now)
        for state in overwritten:
            events += tracker.observe_state(state.state, min(now, state.last_changed_timestamp))
        job_state = states.get(watched.job_state_entity_id)
        if job_state is not None:
            events += tracker.observe_state(
                job_state.state, min(now, job_state.last_changed_timestamp)
            )
        self._record(watched, events)

    @callback
    def _async_bambu_event(self, event: Event[dict[str, Any]]) -> None:
        # Only the device id, the type and an error code are read; `name` is user-set and dropped.
        watched = self._printers.get(str(event.data.get("device_id")))
        event_type = event.data.get("type")
        if watched is None or not isinstance(event_type, str):
            return
        code = event.data.get("code")
        self._record(
            watched,
            watched.tracker.observe_bus_event(
                event_type, event.time_fired_timestamp, code=None if code is None else str(code)
            ),
        )

    @callback
    def _async_poll(self, _now: Any) -> None:
        now = time.time()
        for watched in list(self._printers.values()):
            self._record(watched, watched.tracker.poll(now))
            if watched.tracker.job_open:
                # Progress and other evidence change without events: keep the persisted job fresh.
                self._engine.update_job(watched.key, watched.tracker.snapshot())

    @callback
    def async_save_jobs(self) -> None:
        """Hand every printer's open job to the engine (written with its last batch at shutdown)."""
        for watched in self._printers.values():
            self._engine.update_job(watched.key, watched.tracker.snapshot())

    @callback
    def _record(self, watched: WatchedPrinter, events: Iterable[UsageEvent]) -> None:
        recorded = False
        for usage_event in events:
            self._engine.record(usage_event)
            recorded = True
        if recorded:
            self._engine.update_job(watched.key, watched.tracker.snapshot())
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
