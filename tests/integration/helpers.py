"""Small helpers for reading the integration's entities."""

from datetime import datetime

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.printernizer_usage.engine.engine import UsageEngine
from custom_components.printernizer_usage.engine.identities import Identity


def sensor_entity_id(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", "printernizer_usage", f"{entry.entry_id}_{key}"
    )
    assert entity_id is not None, key
    return entity_id


def sensor_state(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> State:
    state = hass.states.get(sensor_entity_id(hass, entry, key))
    assert state is not None, key
    return state


async def refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Write what is buffered and let the sensors show it."""
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


def identity_of(entry: MockConfigEntry) -> Identity | None:
    """The identity the entry sends under (None while sharing is off)."""
    identity: Identity | None = entry.runtime_data.scheduler.identity
    return identity


def current_identity(entry: MockConfigEntry) -> Identity:
    identity = identity_of(entry)
    assert identity is not None
    return identity


async def pending_deletions(entry: MockConfigEntry) -> list[Identity]:
    """The identities whose deletion the receiver has not confirmed yet."""
    engine: UsageEngine = entry.runtime_data.engine
    return [item for item in await engine.identities.all() if item.deletion_requested]


async def time_passes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, to: str | datetime | None = None
) -> None:
    """Home Assistant's clock moves (to `to`, or stays) and the timers due by then fire: the
    delivery scheduler runs as it would at that moment."""
    if to is not None:
        freezer.move_to(to)
    await fire_due_timers(hass)


async def fire_due_timers(hass: HomeAssistant) -> None:
    """Run the timers due at Home Assistant's current time, and what they start."""
    async_fire_time_changed(hass, dt_util.utcnow())
    # The periodic check runs as a background task: wait for it too (its HTTP requests would
    # otherwise still be on their way when the clock moves on, and time out).
    await hass.async_block_till_done(wait_background_tasks=True)
