"""Small helpers for reading the integration's entities."""

from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry


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
