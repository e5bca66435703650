"""Refreshes the figures the sensors show: this week so far, and the state of sharing."""

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import DOMAIN, REFRESH_INTERVAL
from .delivery import DeliveryScheduler
from .engine.aggregate import WeekSummary
from .engine.engine import UsageEngine

if TYPE_CHECKING:
    from .data import PrinternizerUsageConfigEntry

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UsageData:
    """What the sensors show."""

    week: WeekSummary
    sharing_enabled: bool
    pending_uploads: int
    last_submission: datetime | None
    next_submission: datetime | None


class UsageCoordinator(DataUpdateCoordinator[UsageData]):
    """Reads the week's figures from the local store every `REFRESH_INTERVAL` and after printer
    events. When the store fails the refresh fails (`UpdateFailed`): the sensors become unavailable
    instead of showing stale figures."""

    config_entry: PrinternizerUsageConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PrinternizerUsageConfigEntry,
        *,
        engine: UsageEngine,
        scheduler: DeliveryScheduler,
        integration_version: str,
    ) -> None:
        """Prepare the refresh (the first one is `async_config_entry_first_refresh`)."""
        super().__init__(
            hass, _LOGGER, config_entry=entry, name=DOMAIN, update_interval=REFRESH_INTERVAL
        )
        self.engine = engine
        self.scheduler = scheduler
        self.integration_version = integration_version

    async def _async_update_data(self) -> UsageData:
        now = dt_util.utcnow()
        try:
            week = await self.engine.week_summary(now)
            sharing = await self.scheduler.async_status(now)
        except (sqlite3.Error, OSError) as error:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="store_failed",
                translation_placeholders={"error": f"{type(error).__name__}: {error}"},
            ) from error
        return UsageData(
            week=week,
            sharing_enabled=sharing.sharing_enabled,
            pending_uploads=sharing.pending_uploads,
            last_submission=sharing.last_submission,
            next_submission=sharing.next_submission,
        )
