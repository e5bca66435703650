"""Sensors of the "Printernizer Usage" device: this week's figures and the state of sharing."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import UsageCoordinator, UsageData
from .data import PrinternizerUsageConfigEntry
from .entity import PrinternizerUsageEntity

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class UsageSensorEntityDescription(SensorEntityDescription):
    """A sensor whose value (and optional attributes) come from the coordinator's data."""

    value_fn: Callable[[UsageData], int | float | str | datetime | None]
    attributes_fn: Callable[[UsageData], Mapping[str, Any]] | None = None


def _success_rate(data: UsageData) -> float | None:
    rate = data.week.success_rate
    return None if rate is None else round(rate * 100, 1)


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
        key="jobs_completed",
        translation_key="jobs_completed",
        state_class=SensorStateClass.TOTAL,
        value_fn=lambda data: data.week.jobs_completed,
    ),
    UsageSensorEntityDescription(
        key="jobs_failed",
        translation_key="jobs_failed",
        state_class=SensorStateClass.TOTAL,
        value_fn=lambda data: data.week.jobs_failed,
    ),
    UsageSensorEntityDescription(
        key="jobs_cancelled",
        translation_key="jobs_cancelled",
        state_class=SensorStateClass.TOTAL,
        value_fn=lambda data: data.week.jobs_cancelled,
    ),
    UsageSensorEntityDescription(
        key="success_rate",
        translation_key="success_rate",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=_success_rate,
    ),
    UsageSensorEntityDescription(
        key="printer_errors",
        translation_key="printer_errors",
        state_class=SensorStateClass.TOTAL,
        value_fn=lambda data: data.week.errors,
        attributes_fn=lambda data: {"by_severity": data.week.errors_by_severity},
    ),
    UsageSensorEntityDescription(
        key="uptime",
        translation_key="uptime",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=1,
        value_fn=lambda data: data.week.uptime_hours,
    ),
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


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrinternizerUsageConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of the service device."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(UsageSensor(coordinator, description) for description in SENSORS)


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
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Breakdowns (printers by family and model, errors by severity)."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator.data)
