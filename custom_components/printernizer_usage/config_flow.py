"""Config flow: explicit opt-in, off by default."""

from typing import Any

import probatio as vol
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult

from .const import CONF_SHARING_ENABLED, DOMAIN


class PrinternizerUsageConfigFlow(ConfigFlow, domain=DOMAIN):
    """Handle the set-up of Printernizer Usage."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask whether to share anonymous weekly aggregates (off by default)."""
        if user_input is not None:
            return self.async_create_entry(title="Printernizer Usage", data=user_input)
        schema = vol.Schema({vol.Required(CONF_SHARING_ENABLED, default=False): bool})
        return self.async_show_form(step_id="user", data_schema=schema)
