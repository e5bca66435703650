"""Snapshots (syrupy, as Home Assistant core uses them) of what users see: every sensor entity with its
state and attributes, and the payload preview. Update with `pytest --snapshot-update` and review the
diff like code."""

import platform
import uuid
from types import SimpleNamespace

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.printernizer_usage import fleet, installation
from custom_components.printernizer_usage.const import (
    CONF_RAW_RETENTION_DAYS,
    CONF_RECEIVER_URL,
    CONF_ROTATE_YEARLY,
    CONF_SHARING_ENABLED,
    CONF_SUBMIT_KEY,
    DOMAIN,
)

from .conftest import SUBMIT_KEY, UNREACHABLE_RECEIVER_URL
from .helpers import refresh
from .printers import FakePrinter, add_bambu_printer, add_prusalink_printer

ENTRY_ID = "01JPRINTERNIZERUSAGESNAPSHOT"
INSTALLATION_ID = "5f1c2d3e-4b5a-4c6d-8e7f-901234567890"


@pytest.fixture(autouse=True)
def stable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """The snapshot's Python version and installation id, not the host's or a random one."""
    monkeypatch.setattr(platform, "python_version", lambda: "3.14.2")
    monkeypatch.setattr(
        installation, "uuid", SimpleNamespace(uuid4=lambda: uuid.UUID(INSTALLATION_ID))
    )


def _stable_printer_keys(monkeypatch: pytest.MonkeyPatch, *printers: FakePrinter) -> None:
    """The per-printer sensors' unique ids come from a salted hash of the device id, which the
    device registry makes at random: give the printers fixed keys instead."""
    keys = {printer.device_id: f"{n:x}" * 24 for n, printer in enumerate(printers, start=10)}
    monkeypatch.setattr(fleet, "printer_key", lambda _salt, device_id: keys[device_id])


async def _set_up(hass: HomeAssistant, *, sharing: bool) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id=ENTRY_ID,
        title="Printernizer Usage",
        data={CONF_RECEIVER_URL: UNREACHABLE_RECEIVER_URL, CONF_SUBMIT_KEY: SUBMIT_KEY},
        options={
            CONF_SHARING_ENABLED: sharing,
            CONF_RAW_RETENTION_DAYS: 90,
            CONF_ROTATE_YEARLY: False,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _jobs(hass: HomeAssistant, freezer: FrozenDateTimeFactory, prusa: FakePrinter) -> None:
    for value, hours in (("printing", 2), ("finished", 1), ("printing", 1), ("stopped", 0)):
        prusa.set_state(hass, value)
        await hass.async_block_till_done()
        freezer.tick(hours * 3600)


@pytest.mark.usefixtures("socket_enabled")
async def test_sensor_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prusa = add_prusalink_printer(hass)
    _stable_printer_keys(monkeypatch, prusa, add_bambu_printer(hass))
    freezer.move_to("2026-11-09T08:00:00+00:00")
    entry = await _set_up(hass, sharing=True)
    await _jobs(hass, freezer, prusa)
    await refresh(hass, entry)
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


@pytest.mark.usefixtures("socket_enabled")
async def test_payload_preview(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, snapshot: SnapshotAssertion
) -> None:
    hass.config.country = "DE"
    prusa = add_prusalink_printer(hass)
    add_bambu_printer(hass)
    freezer.move_to("2026-11-05T08:00:00+00:00")
    await _set_up(hass, sharing=True)
    freezer.move_to("2026-11-11T07:31:12+00:00")
    await _jobs(hass, freezer, prusa)
    response = await hass.services.async_call(
        DOMAIN, "preview_next_payload", blocking=True, return_response=True
    )
    assert response == snapshot
