"""Config, options and reconfigure flows in a real Home Assistant core."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.printernizer_usage.const import (
    CONF_PRINTERNIZER_URL,
    CONF_RAW_RETENTION_DAYS,
    CONF_RECEIVER_URL,
    CONF_ROTATE_YEARLY,
    CONF_SHARING_ENABLED,
    CONF_SUBMIT_KEY,
    DEFAULT_RECEIVER_URL,
    DEFAULT_SUBMIT_KEY,
    DOMAIN,
    ENV_DEFAULT_RECEIVER_URL,
    ENV_DEFAULT_SUBMIT_KEY,
    ISSUE_RECEIVER_REJECTED_KEY,
    ISSUE_RECEIVER_URL_NOT_USED,
    ISSUE_REMOTE_DELETION_PENDING,
    SECTION_ADVANCED,
)
from custom_components.printernizer_usage.engine.receiver_url import (
    UrlProblem,
    receiver_host,
    receiver_url_problem,
)

from .conftest import SUBMIT_KEY, SetUpIntegration
from .helpers import identity_of


def _defaults(result: Any) -> dict[str, Any]:
    """The default of every field of a form, sections flattened."""
    defaults: dict[str, Any] = {}
    for key, value in result["data_schema"].schema.items():
        if hasattr(value, "schema"):
            for inner in value.schema.schema:
                defaults[str(inner)] = inner.default()
        else:
            defaults[str(key)] = key.default()
    return defaults


async def _sharing_step(hass: HomeAssistant) -> Any:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "sharing"
    return result


async def test_user_flow_explains_then_creates_entry_with_sharing_off_by_default(
    hass: HomeAssistant, unreachable_receiver_url: str
) -> None:
    result = await _sharing_step(hass)
    defaults = _defaults(result)
    assert defaults[CONF_SHARING_ENABLED] is False
    assert defaults[CONF_RECEIVER_URL] == DEFAULT_RECEIVER_URL
    assert defaults[CONF_SUBMIT_KEY] == DEFAULT_SUBMIT_KEY

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_SHARING_ENABLED: False,
            SECTION_ADVANCED: {
                CONF_RECEIVER_URL: f"{unreachable_receiver_url}/",
                CONF_SUBMIT_KEY: SUBMIT_KEY,
            },
        },
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data == {CONF_RECEIVER_URL: unreachable_receiver_url, CONF_SUBMIT_KEY: SUBMIT_KEY}
    assert entry.options[CONF_SHARING_ENABLED] is False
    assert identity_of(entry) is None


async def test_receiver_defaults_come_from_the_environment(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_DEFAULT_RECEIVER_URL, "http://127.0.0.1:8080")
    monkeypatch.setenv(ENV_DEFAULT_SUBMIT_KEY, "dev-key")
    defaults = _defaults(await _sharing_step(hass))
    assert defaults[CONF_RECEIVER_URL] == "http://127.0.0.1:8080"
    assert defaults[CONF_SUBMIT_KEY] == "dev-key"


@pytest.mark.parametrize(
    ("receiver_url", "submit_key", "error"),
    [
        ("usage.printernizer.com", SUBMIT_KEY, "invalid_receiver_url"),
        ("ftp://usage.printernizer.com", SUBMIT_KEY, "invalid_receiver_url"),
        ("https://", SUBMIT_KEY, "invalid_receiver_url"),
        ("https://usage.example?x=1", SUBMIT_KEY, "invalid_receiver_url"),
        ("http://usage.printernizer.com", SUBMIT_KEY, "insecure_receiver_url"),
        ("http://192.168.1.20:8080", SUBMIT_KEY, "insecure_receiver_url"),
        ("https://stats:hunter2@usage.example", SUBMIT_KEY, "receiver_url_with_credentials"),
        ("https://token@usage.example", SUBMIT_KEY, "receiver_url_with_credentials"),
        ("https://usage.example", "  ", "empty_submit_key"),
    ],
)
async def test_invalid_receiver_is_a_form_error_and_can_be_corrected(
    hass: HomeAssistant, receiver_url: str, submit_key: str, error: str
) -> None:
    result = await _sharing_step(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_SHARING_ENABLED: True,
            SECTION_ADVANCED: {CONF_RECEIVER_URL: receiver_url, CONF_SUBMIT_KEY: submit_key},
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert _defaults(result)[CONF_SHARING_ENABLED] is True  # the user's choice is kept

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_SHARING_ENABLED: False,
            SECTION_ADVANCED: {CONF_RECEIVER_URL: "http://127.0.0.1:9", CONF_SUBMIT_KEY: "k"},
        },
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY


def test_receiver_url_rules() -> None:
    """HTTPS, or plain HTTP to this machine only; no credentials; named by the host only."""
    for allowed in (
        "https://usage.printernizer.com",
        "http://127.0.0.1:8080/base",
        "http://127.1.2.3",
        "http://[::1]:8080",
        "http://localhost:8080",
        "https://192.168.1.20/receiver",
    ):
        assert receiver_url_problem(allowed) is None, allowed
    assert receiver_url_problem("http://[::1") == "invalid_receiver_url"
    assert receiver_url_problem("https://x#frag") == "invalid_receiver_url"
    assert receiver_url_problem("http://localhost.example.com") == "insecure_receiver_url"
    assert receiver_url_problem("http://10.0.0.1") == "insecure_receiver_url"
    assert receiver_url_problem("https://u:p@127.0.0.1") == "receiver_url_with_credentials"
    assert receiver_host("https://u:p@usage.example:8443/t0ken/path?q=1") == "usage.example"


async def test_single_instance(hass: HomeAssistant, set_up_integration: SetUpIntegration) -> None:
    await set_up_integration()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "single_instance_allowed"


async def test_options_flow_switches_sharing_on_and_reloads_with_a_new_identity(
    hass: HomeAssistant, set_up_integration: SetUpIntegration, unreachable_receiver_url: str
) -> None:
    entry = await set_up_integration()
    assert identity_of(entry) is None

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    defaults = _defaults(result)
    assert defaults[CONF_SHARING_ENABLED] is False
    assert defaults[CONF_RAW_RETENTION_DAYS] == 90
    assert defaults[CONF_RECEIVER_URL] == unreachable_receiver_url

    user_input = {
        CONF_SHARING_ENABLED: True,
        CONF_RAW_RETENTION_DAYS: 30,
        CONF_ROTATE_YEARLY: True,
        SECTION_ADVANCED: {CONF_RECEIVER_URL: "not a url", CONF_SUBMIT_KEY: SUBMIT_KEY},
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_receiver_url"}
    for url, error in (
        ("http://usage.example", "insecure_receiver_url"),
        ("https://admin:secret@usage.example", "receiver_url_with_credentials"),
    ):
        user_input[SECTION_ADVANCED] = {CONF_RECEIVER_URL: url, CONF_SUBMIT_KEY: SUBMIT_KEY}
        result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
        assert result["errors"] == {"base": error}

    user_input[SECTION_ADVANCED] = {
        CONF_RECEIVER_URL: unreachable_receiver_url,
        CONF_SUBMIT_KEY: "new-key",
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_SHARING_ENABLED: True,
        CONF_RAW_RETENTION_DAYS: 30,
        CONF_ROTATE_YEARLY: True,
        CONF_PRINTERNIZER_URL: "",
    }
    assert entry.data[CONF_SUBMIT_KEY] == "new-key"
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.engine.raw_retention_days == 30
    assert identity_of(entry) is not None


async def test_options_flow_changing_only_the_receiver_reloads(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    entry = await set_up_integration()
    old_runtime = entry.runtime_data
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SHARING_ENABLED: False,
            CONF_RAW_RETENTION_DAYS: 90,
            CONF_ROTATE_YEARLY: False,
            SECTION_ADVANCED: {CONF_RECEIVER_URL: "https://self.hosted", CONF_SUBMIT_KEY: "k2"},
        },
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.data == {CONF_RECEIVER_URL: "https://self.hosted", CONF_SUBMIT_KEY: "k2"}
    assert entry.runtime_data is not old_runtime


async def test_reconfigure_flow_changes_the_receiver(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    entry = await set_up_integration()
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_RECEIVER_URL: "mailto:x@y", CONF_SUBMIT_KEY: "k"}
    )
    assert result["errors"] == {"base": "invalid_receiver_url"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_RECEIVER_URL: "http://stats.example.org", CONF_SUBMIT_KEY: "k"}
    )
    assert result["errors"] == {"base": "insecure_receiver_url"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_RECEIVER_URL: "https://stats.example.org/", CONF_SUBMIT_KEY: " other-key "},
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        CONF_RECEIVER_URL: "https://stats.example.org",
        CONF_SUBMIT_KEY: "other-key",
    }
    assert entry.state is ConfigEntryState.LOADED


def test_every_error_issue_and_exception_is_translated_in_english_and_german() -> None:
    """The flows' URL errors, the repair issues and the store failure, with the same placeholders."""
    component = Path(__file__).parents[2] / "custom_components" / "printernizer_usage"
    strings = json.loads((component / "strings.json").read_text(encoding="utf-8"))
    english = json.loads((component / "translations" / "en.json").read_text(encoding="utf-8"))
    german = json.loads((component / "translations" / "de.json").read_text(encoding="utf-8"))
    assert english == strings
    issues = {
        ISSUE_RECEIVER_REJECTED_KEY: {"status", "receiver_host"},
        ISSUE_REMOTE_DELETION_PENDING: {"count", "receivers"},
        **{
            f"{ISSUE_RECEIVER_URL_NOT_USED}_{problem.value}": {"receiver_host"}
            for problem in UrlProblem
        },
    }
    for language in (strings, german):
        for flow in ("config", "options"):
            assert {problem.value for problem in UrlProblem} <= language[flow]["error"].keys()
        for key, placeholders in issues.items():
            issue = language["issues"][key]
            found = set(re.findall(r"{(\w+)}", issue["title"] + issue["description"]))
            assert found == placeholders, (key, found)
        assert "{error}" in language["exceptions"]["store_failed"]["message"]
        sharing = language["config"]["step"]["sharing"]["description"]
        assert "UTC" in sharing  # the first week shared is said to be the one after opt-in
