"""Sensors of the "Printernizer Usage" device: this week's figures, per-printer figures and the state
of sharing.

Every weekly counter is `state_class: total` with `last_reset` = the start of the current ISO week
(Monday 00:00 UTC): Home Assistant's long-term statistics then treat the Monday drop to zero as a new
cycle instead of a decrease, so the statistics `sum` only grows.

Per-printer sensors follow the printers the fleet observes (added and removed with them). They are known
to the engine only by an opaque key; the printer's Home Assistant device name is only used for the
entity's local name and never reaches the engine, the payload or diagnostics.
"""

import asyncio
import re
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfLength, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import (
    AddConfigEntryEntitiesCallback,
    EntityPlatform,
    async_get_current_platform,
)

from .const import DOMAIN
from .coordinator import UsageCoordinator, UsageData
from .data import PrinternizerUsageConfigEntry
from .engine.aggregate import PrinterSummary
from .engine.models import PrinterInfo
from .entity import PrinternizerUsageEntity
from .fleet import FleetObserver

PARALLEL_UPDATES = 0

# unique_id = f"{entry_id}_{PRINTER_UNIQUE_ID_PREFIX}{printer key}_{description key}"
PRINTER_UNIQUE_ID_PREFIX = "printer_"


@dataclass(frozen=True, kw_only=True)
class UsageSensorEntityDescription(SensorEntityDescription):
    """A sensor whose value (and optional attributes) come from the coordinator's data."""

    value_fn: Callable[[UsageData], int | float | str | datetime | None]
    attributes_fn: Callable[[UsageData], Mapping[str, Any]] | None = None
    # A counter of the current ISO week: `total` with `last_reset` = the week's start.
    weekly: bool = False


def _percent(ratio: float | None) -> float | None:
    return None if ratio is None else round(ratio * 100, 1)


def _weekly_total(
    key: str, value_fn: Callable[[UsageData], int | float | None], **kwargs: Any
) -> UsageSensorEntityDescription:
    return UsageSensorEntityDescription(
        key=key,
        translation_key=key,
        state_class=SensorStateClass.TOTAL,
        weekly=True,
        value_fn=value_fn,
        **kwargs,
    )


def _hours_total(key: str, value_fn: Callable[[UsageData], float]) -> UsageSensorEntityDescription:
    return _weekly_total(
        key,
        value_fn,
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        suggested_display_precision=1,
    )


SENSORS: tuple[UsageSensorEntityDescription, ...] = (
    UsageSensorEntityDescription(
        key="printers",
        translation_key="printers",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.week.printers_total,
        attributes_fn=lambda data: {
            "by_family": data.week.printers_by_family,
            "by_model": data.week.printers_by_model,
        },
    ),
    UsageSensorEntityDescription(
        key="active_printers",
        translation_key="active_printers",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.week.active_printers,
    ),
    _hours_total("print_hours", lambda data: data.week.print_hours),
    _hours_total("paused_hours", lambda data: data.week.paused_hours),
    UsageSensorEntityDescription(
        key="utilization",
        translation_key="utilization",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda data: _percent(data.week.utilization),
        attributes_fn=lambda data: {"printer_online_hours": data.week.printer_online_hours},
    ),
    _weekly_total("jobs_started", lambda data: data.week.jobs_started),
    _weekly_total("jobs_completed", lambda data: data.week.jobs_completed),
    _weekly_total("jobs_failed", lambda data: data.week.jobs_failed),
    _weekly_total("jobs_cancelled", lambda data: data.week.jobs_cancelled),
    _weekly_total("jobs_ended_without_outcome", lambda data: data.week.jobs_ended_without_outcome),
    UsageSensorEntityDescription(
        key="success_rate",
        translation_key="success_rate",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda data: _percent(data.week.success_rate),
    ),
    _weekly_total(
        "filament_used",
        lambda data: data.week.filament_m,
        device_class=SensorDeviceClass.DISTANCE,
        native_unit_of_measurement=UnitOfLength.METERS,
        suggested_display_precision=1,
    ),
    _weekly_total(
        "printer_errors",
        lambda data: data.week.errors,
        attributes_fn=lambda data: {"by_severity": data.week.errors_by_severity},
    ),
    _hours_total("uptime", lambda data: data.week.uptime_hours),
    UsageSensorEntityDescription(
        key="sharing",
        translation_key="sharing",
        device_class=SensorDeviceClass.ENUM,
        options=["on", "off"],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: "on" if data.sharing_enabled else "off",
    ),
    UsageSensorEntityDescription(
        key="last_submission",
        translation_key="last_submission",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.last_submission,
    ),
    UsageSensorEntityDescription(
        key="next_submission",
        translation_key="next_submission",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.next_submission,
    ),
    UsageSensorEntityDescription(
        key="pending_uploads",
        translation_key="pending_uploads",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.pending_uploads,
    ),
)


@dataclass(frozen=True, kw_only=True)
class PrinterSensorEntityDescription(SensorEntityDescription):
    """A weekly counter of one printer (its summary is None while it has no figures this week)."""

    value_fn: Callable[[PrinterSummary | None], int | float]
    with_attributes: bool = False


def printer_attributes(info: PrinterInfo, summary: PrinterSummary | None) -> dict[str, Any]:
    """The printer's other figures of the week (percentages in %, hours in h, filament in m)."""
    if summary is None:
        return {
            "family": info.family,
            "model": info.model,
            "jobs_started": 0,
            "jobs_completed": 0,
            "jobs_failed": 0,
            "jobs_cancelled": 0,
            "jobs_ended_without_outcome": 0,
            "success_rate": None,
            "paused_hours": 0.0,
            "online_hours": 0.0,
            "utilization": None,
            "filament_m": None,
            "errors": 0,
        }
    return {
        "family": info.family,
        "model": info.model,
        "jobs_started": summary.jobs_started,
        "jobs_completed": summary.jobs_completed,
        "jobs_failed": summary.jobs_failed,
        "jobs_cancelled": summary.jobs_cancelled,
        "jobs_ended_without_outcome": summary.jobs_ended_without_outcome,
        "success_rate": _percent(summary.success_rate),
        "paused_hours": summary.paused_hours,
        "online_hours": summary.online_hours,
        "utilization": _percent(summary.utilization),
        "filament_m": summary.filament_m,
        "errors": summary.errors,
    }


PRINTER_SENSORS: tuple[PrinterSensorEntityDescription, ...] = (
    PrinterSensorEntityDescription(
        key="print_hours",
        translation_key="printer_print_hours",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=1,
        value_fn=lambda summary: 0.0 if summary is None else summary.print_hours,
        with_attributes=True,
    ),
    PrinterSensorEntityDescription(
        key="jobs_completed",
        translation_key="printer_jobs_completed",
        state_class=SensorStateClass.TOTAL,
        value_fn=lambda summary: 0 if summary is None else summary.jobs_completed,
    ),
)


# What follows the entry id in a per-printer sensor's unique id (`printer_errors` does not match).
_PRINTER_UNIQUE_ID = re.compile(
    rf"{PRINTER_UNIQUE_ID_PREFIX}(?P<key>[0-9a-f]+)_"
    rf"(?:{'|'.join(re.escape(description.key) for description in PRINTER_SENSORS)})"
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrinternizerUsageConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of the service device, and one pair per observed printer."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(UsageSensor(coordinator, description) for description in SENSORS)
    printers = PrinterSensors(
        hass, entry, coordinator, entry.runtime_data.fleet, async_get_current_platform()
    )
    await printers.async_sync()
    entry.async_on_unload(entry.runtime_data.fleet.async_add_listener(printers.async_schedule_sync))


class UsageSensor(PrinternizerUsageEntity, SensorEntity):
    """One figure of the week or of the sharing state."""

    entity_description: UsageSensorEntityDescription

    def __init__(
        self, coordinator: UsageCoordinator, description: UsageSensorEntityDescription
    ) -> None:
        """Describe the sensor."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    @override
    def native_value(self) -> int | float | str | datetime | None:
        """The current value."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    @override
    def last_reset(self) -> datetime | None:
        """Weekly counters: the start of the week they count (Monday 00:00 UTC)."""
        return self.coordinator.data.week.period_start if self.entity_description.weekly else None

    @property
    @override
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Breakdowns (printers by family and model, errors by severity, online hours)."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator.data)


class PrinterSensor(PrinternizerUsageEntity, SensorEntity):
    """A weekly counter of one printer, named after the printer's device (locally only)."""

    entity_description: PrinterSensorEntityDescription

    def __init__(
        self,
        coordinator: UsageCoordinator,
        description: PrinterSensorEntityDescription,
        printer_key: str,
        info: PrinterInfo,
        printer_name: str,
    ) -> None:
        """Describe the sensor; the unique id comes from the printer's opaque key."""
        super().__init__(coordinator, f"{PRINTER_UNIQUE_ID_PREFIX}{printer_key}_{description.key}")
        self.entity_description = description
        self.printer_key = printer_key
        self.printer_name = printer_name
        self._info = info
        self._attr_translation_placeholders = {"printer": printer_name}
        self.added = False

    @property
    def _summary(self) -> PrinterSummary | None:
        return self.coordinator.data.week.printers.get(self.printer_key)

    @property
    @override
    def native_value(self) -> int | float:
        """The printer's figure this week (0 while it has none)."""
        return self.entity_description.value_fn(self._summary)

    @property
    @override
    def last_reset(self) -> datetime:
        """The start of the week counted (Monday 00:00 UTC)."""
        return self.coordinator.data.week.period_start

    @property
    @override
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """The printer's other figures of the week (on its print-hours sensor)."""
        if not self.entity_description.with_attributes:
            return None
        return printer_attributes(self._info, self._summary)

    @override
    async def async_added_to_hass(self) -> None:
        """Remember that the entity is in Home Assistant (disabled entities never are)."""
        await super().async_added_to_hass()
        self.added = True

    @override
    async def async_will_remove_from_hass(self) -> None:
        """Forget that the entity is in Home Assistant."""
        self.added = False
        await super().async_will_remove_from_hass()


def printer_name(hass: HomeAssistant, device_id: str, info: PrinterInfo) -> str:
    """The printer's Home Assistant device name (local only), else its model."""
    device = dr.async_get(hass).async_get(device_id)
    if device is not None and (name := device.name_by_user or device.name):
        return name
    return info.model if info.model != "unknown" else info.family


class PrinterSensors:
    """Keeps one pair of sensors per observed printer: adds them for new printers, renames them with
    their device and removes them (from the entity registry too) when the printer disappears."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PrinternizerUsageConfigEntry,
        coordinator: UsageCoordinator,
        fleet: FleetObserver,
        platform: EntityPlatform,
    ) -> None:
        """Track nothing until the first `async_sync`."""
        self._hass = hass
        self._entry = entry
        self._coordinator = coordinator
        self._fleet = fleet
        self._platform = platform
        self._lock = asyncio.Lock()
        self._sync_scheduled = False
        self._sensors: dict[str, list[PrinterSensor]] = {}  # by printer key

    @callback
    def async_schedule_sync(self) -> None:
        """The fleet changed: bring the sensors in line soon (one sync per burst of changes)."""
        if self._sync_scheduled:
            return
        self._sync_scheduled = True
        self._entry.async_create_background_task(
            self._hass, self.async_sync(), f"{DOMAIN} printer sensors"
        )

    async def async_sync(self) -> None:
        """Add, rename and remove per-printer sensors to match the observed printers."""
        self._sync_scheduled = False
        async with self._lock:
            wanted = {
                watched.key: (
                    watched.info,
                    printer_name(self._hass, watched.device_id, watched.info),
                )
                for watched in self._fleet.printers.values()
            }
            self._remove_stale_registry_entries(wanted.keys())
            new: list[PrinterSensor] = []
            for key, (info, name) in wanted.items():
                current = self._sensors.get(key)
                if current is not None and current[0].printer_name == name:
                    continue
                for sensor in current or ():
                    if sensor.added:  # renamed: replaced by sensors with the new name
                        await sensor.async_remove(force_remove=True)
                sensors = [
                    PrinterSensor(self._coordinator, description, key, info, name)
                    for description in PRINTER_SENSORS
                ]
                self._sensors[key] = sensors
                new += sensors
            for key in self._sensors.keys() - wanted.keys():
                del self._sensors[key]
            if new:
                await self._platform.async_add_entities(new)

    def _remove_stale_registry_entries(self, keys: Set[str]) -> None:
        """Remove the registry entries (and so the entities) of printers no longer observed, also
        those left from an earlier run."""
        registry = er.async_get(self._hass)
        entry_id = self._entry.entry_id
        for registry_entry in er.async_entries_for_config_entry(registry, entry_id):
            match = _PRINTER_UNIQUE_ID.fullmatch(
                registry_entry.unique_id.removeprefix(f"{entry_id}_")
            )
            if match is not None and match["key"] not in keys:
                registry.async_remove(registry_entry.entity_id)
