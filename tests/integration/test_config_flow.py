"""The integration loads through its config flow in a real Home Assistant core."""

from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.printernizer_usage.const import CONF_SHARING_ENABLED, DOMAIN


async def test_user_flow_creates_entry_with_sharing_off_by_default(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"]
    assert schema is not None
    defaults = {str(key): key.default() for key in schema.schema}
    assert defaults[CONF_SHARING_ENABLED] is False

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SHARING_ENABLED: False}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.state is ConfigEntryState.LOADED
