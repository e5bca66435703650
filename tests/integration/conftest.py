"""Fixtures for the Home Assistant integration tests (real Home Assistant core via PHCC)."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.printernizer_usage.const import (
    CONF_RAW_RETENTION_DAYS,
    CONF_RECEIVER_URL,
    CONF_ROTATE_YEARLY,
    CONF_SHARING_ENABLED,
    CONF_SUBMIT_KEY,
    DOMAIN,
    ENV_DEFAULT_RECEIVER_URL,
    ENV_DEFAULT_SUBMIT_KEY,
)
from tests.integration.scripted_receiver import ScriptedReceiver, scripted_receiver

SUBMIT_KEY = "test-submit-key-0123456789"
UNREACHABLE_RECEIVER_URL = "http://127.0.0.1:9"

type SetUpIntegration = Callable[..., Awaitable[MockConfigEntry]]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/printernizer_usage."""


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's serializer (registry entries and states without their
    random ids and timestamps), as Home Assistant core's tests use them."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """A fresh configuration directory per test (the local database lives there)."""
    return hass_tmp_config_dir


@pytest.fixture(autouse=True)
def no_default_receiver_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from the built-in defaults, whatever the developer's shell exports."""
    monkeypatch.delenv(ENV_DEFAULT_RECEIVER_URL, raising=False)
    monkeypatch.delenv(ENV_DEFAULT_SUBMIT_KEY, raising=False)


@pytest.fixture
def unreachable_receiver_url() -> str:
    """A receiver URL on 127.0.0.1 where nothing listens (the discard port: connection refused).
    Tests that make the integration contact it also request `socket_enabled`."""
    return UNREACHABLE_RECEIVER_URL


def make_entry(receiver_url: str, *, sharing: bool, **options: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Printernizer Usage",
        data={CONF_RECEIVER_URL: receiver_url, CONF_SUBMIT_KEY: SUBMIT_KEY},
        options={
            CONF_SHARING_ENABLED: sharing,
            CONF_RAW_RETENTION_DAYS: 90,
            CONF_ROTATE_YEARLY: False,
            **options,
        },
    )


@pytest.fixture
def set_up_integration(hass: HomeAssistant, unreachable_receiver_url: str) -> SetUpIntegration:
    """Add and set up a config entry (receiver unreachable unless another URL is given)."""

    async def set_up(
        *, sharing: bool = False, receiver_url: str | None = None, **options: Any
    ) -> MockConfigEntry:
        entry = make_entry(receiver_url or unreachable_receiver_url, sharing=sharing, **options)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        return entry

    return set_up


@pytest.fixture
async def scripted(socket_enabled: None) -> AsyncIterator[ScriptedReceiver]:
    """A scripted HTTP receiver on 127.0.0.1 (outages and answers the real receiver cannot fake)."""
    async with scripted_receiver() as receiver:
        yield receiver
