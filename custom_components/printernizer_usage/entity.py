"""The base entity: every sensor belongs to the "Printernizer Usage" service device."""

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN, TITLE
from .coordinator import UsageCoordinator


class PrinternizerUsageEntity(CoordinatorEntity[UsageCoordinator]):
    """An entity of the Printernizer Usage service device."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: UsageCoordinator, key: str) -> None:
        """Attach the entity to the service device of this config entry."""
        super().__init__(coordinator)
        entry_id = coordinator.config_entry.entry_id
        self._attr_unique_id = f"{entry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry_id)},
            name=TITLE,
            manufacturer="Printernizer",
            entry_type=DeviceEntryType.SERVICE,
            sw_version=coordinator.integration_version,
        )
