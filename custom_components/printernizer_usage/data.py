"""The typed runtime data of a loaded config entry."""

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .coordinator import UsageCoordinator
from .delivery import DeliveryScheduler
from .engine.engine import UsageEngine
from .fleet import FleetObserver


@dataclass(slots=True)
class PrinternizerUsageData:
    """Everything a loaded entry owns."""

    engine: UsageEngine
    coordinator: UsageCoordinator
    scheduler: DeliveryScheduler
    fleet: FleetObserver
    closed: bool = False

    async def async_close(self) -> None:
        """Stop observing and scheduling, then close the local store (everything buffered is
        written). Runs once: at unload or when Home Assistant stops, whichever comes first."""
        if self.closed:
            return
        self.closed = True
        self.fleet.async_stop()
        await self.scheduler.async_stop()
        await self.coordinator.async_shutdown()
        await self.engine.close()


type PrinternizerUsageConfigEntry = ConfigEntry[PrinternizerUsageData]
