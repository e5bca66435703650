"""Config, options and reconfigure flows: explicit opt-in, sharing off by default."""

from collections.abc import Mapping
from typing import Any, override

import probatio as vol
import yarl
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import (
    CONF_PRINTERNIZER_URL,
    CONF_RAW_RETENTION_DAYS,
    CONF_RECEIVER_URL,
    CONF_ROTATE_YEARLY,
    CONF_SHARING_ENABLED,
    CONF_SUBMIT_KEY,
    DEFAULT_RAW_RETENTION_DAYS,
    DOMAIN,
    MAX_RAW_RETENTION_DAYS,
    MIN_RAW_RETENTION_DAYS,
    PRINTERNIZER_DEFAULT_PORT,
    SECTION_ADVANCED,
    TITLE,
    default_receiver_url,
    default_submit_key,
)
from .engine.receiver_url import receiver_url_problem


def is_http_url(url: str) -> bool:
    """An absolute http(s) URL with a host and nothing after the path."""
    try:
        parsed = yarl.URL(url.strip())
    except ValueError:
        return False
    return (
        parsed.scheme in {"http", "https"}
        and bool(parsed.host)
        and not parsed.query_string
        and not parsed.fragment
    )


def printernizer_server_url(value: str) -> str | None:
    """The Printernizer server's base URL from what the user typed (a bare host gets `http://` and
    port 8000); `""` for none, None when it is not a usable address."""
    text = value.strip().rstrip("/")
    if not text:
        return ""
    if "://" not in text:
        text = f"http://{text}"
    if not is_http_url(text):
        return None
    url = yarl.URL(text)
    if url.explicit_port is None:
        url = url.with_port(PRINTERNIZER_DEFAULT_PORT)
    return str(url).rstrip("/")


def _receiver_schema(receiver_url: str, submit_key: str) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_RECEIVER_URL, default=receiver_url): TextSelector(
                TextSelectorConfig(type=TextSelectorType.URL)
            ),
            vol.Required(CONF_SUBMIT_KEY, default=submit_key): str,
        }
    )


def _receiver_from_input(values: Mapping[str, Any]) -> dict[str, str]:
    return {
        CONF_RECEIVER_URL: str(values[CONF_RECEIVER_URL]).strip().rstrip("/"),
        CONF_SUBMIT_KEY: str(values[CONF_SUBMIT_KEY]).strip(),
    }


def _receiver_errors(receiver: Mapping[str, str]) -> dict[str, str]:
    """HTTPS only (plain HTTP for this machine only), no user:password in the URL, a submit key."""
    if (problem := receiver_url_problem(receiver[CONF_RECEIVER_URL])) is not None:
        return {"base": problem.value}
    if not receiver[CONF_SUBMIT_KEY]:
        return {"base": "empty_submit_key"}
    return {}


class PrinternizerUsageConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up Printernizer Usage: explain what is recorded, then ask about sharing (off by default)."""

    VERSION = 1

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> PrinternizerUsageOptionsFlow:
        """The options flow: sharing, receiver, local retention."""
        return PrinternizerUsageOptionsFlow()

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Explain what is recorded locally and why."""
        if user_input is not None:
            return await self.async_step_sharing()
        return self.async_show_form(step_id="user", data_schema=vol.Schema({}))

    async def async_step_sharing(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The sharing choice next to the complete list of what would be sent and what never is."""
        errors: dict[str, str] = {}
        receiver = {
            CONF_RECEIVER_URL: default_receiver_url(),
            CONF_SUBMIT_KEY: default_submit_key(),
        }
        sharing = False
        if user_input is not None:
            sharing = bool(user_input[CONF_SHARING_ENABLED])
            receiver = _receiver_from_input(user_input[SECTION_ADVANCED])
            errors = _receiver_errors(receiver)
            if not errors:
                return self.async_create_entry(
                    title=TITLE,
                    data=receiver,
                    options={
                        CONF_SHARING_ENABLED: sharing,
                        CONF_RAW_RETENTION_DAYS: DEFAULT_RAW_RETENTION_DAYS,
                        CONF_ROTATE_YEARLY: False,
                    },
                )
        schema = vol.Schema(
            {
                vol.Required(CONF_SHARING_ENABLED, default=sharing): bool,
                vol.Required(SECTION_ADVANCED): section(
                    _receiver_schema(receiver[CONF_RECEIVER_URL], receiver[CONF_SUBMIT_KEY]),
                    {"collapsed": True},
                ),
            }
        )
        return self.async_show_form(step_id="sharing", data_schema=schema, errors=errors)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change where the weekly aggregates go (receiver URL and submit key)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        receiver = {
            CONF_RECEIVER_URL: entry.data[CONF_RECEIVER_URL],
            CONF_SUBMIT_KEY: entry.data[CONF_SUBMIT_KEY],
        }
        if user_input is not None:
            receiver = _receiver_from_input(user_input)
            errors = _receiver_errors(receiver)
            if not errors:
                return self.async_update_reload_and_abort(entry, data=receiver)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_receiver_schema(receiver[CONF_RECEIVER_URL], receiver[CONF_SUBMIT_KEY]),
            errors=errors,
        )


class PrinternizerUsageOptionsFlow(OptionsFlow):
    """Change sharing, the receiver and how long raw events are kept."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form; the receiver sits in a collapsed section for self-hosters."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        options = dict(entry.options)
        receiver = {
            CONF_RECEIVER_URL: entry.data[CONF_RECEIVER_URL],
            CONF_SUBMIT_KEY: entry.data[CONF_SUBMIT_KEY],
        }
        if user_input is not None:
            server_url = printernizer_server_url(str(user_input.get(CONF_PRINTERNIZER_URL, "")))
            options = {
                CONF_SHARING_ENABLED: bool(user_input[CONF_SHARING_ENABLED]),
                CONF_RAW_RETENTION_DAYS: int(user_input[CONF_RAW_RETENTION_DAYS]),
                CONF_ROTATE_YEARLY: bool(user_input[CONF_ROTATE_YEARLY]),
                CONF_PRINTERNIZER_URL: server_url or "",
            }
            receiver = _receiver_from_input(user_input[SECTION_ADVANCED])
            errors = _receiver_errors(receiver)
            if server_url is None:
                errors = {CONF_PRINTERNIZER_URL: "invalid_printernizer_url"}
            if not errors:
                changed = self.hass.config_entries.async_update_entry(entry, data=receiver)
                if changed or options != dict(entry.options):
                    self.hass.config_entries.async_schedule_reload(entry.entry_id)
                return self.async_create_entry(data=options)
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_SHARING_ENABLED, default=options.get(CONF_SHARING_ENABLED, False)
                ): bool,
                vol.Required(
                    CONF_RAW_RETENTION_DAYS,
                    default=options.get(CONF_RAW_RETENTION_DAYS, DEFAULT_RAW_RETENTION_DAYS),
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=MIN_RAW_RETENTION_DAYS,
                        max=MAX_RAW_RETENTION_DAYS,
                        step=1,
                        mode=NumberSelectorMode.BOX,
                        unit_of_measurement="d",
                    )
                ),
                vol.Required(
                    CONF_ROTATE_YEARLY, default=options.get(CONF_ROTATE_YEARLY, False)
                ): bool,
                vol.Optional(
                    CONF_PRINTERNIZER_URL, default=options.get(CONF_PRINTERNIZER_URL, "")
                ): str,
                vol.Required(SECTION_ADVANCED): section(
                    _receiver_schema(receiver[CONF_RECEIVER_URL], receiver[CONF_SUBMIT_KEY]),
                    {"collapsed": True},
                ),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema, errors=errors)
