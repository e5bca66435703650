"""Set-up, unload, restart persistence, the sharing identity and removal."""

import json
import sqlite3
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import instance_id
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import UpdateFailed
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage import database_path
from custom_components.printernizer_usage.const import (
    CONF_RAW_RETENTION_DAYS,
    CONF_RECEIVER_URL,
    CONF_ROTATE_YEARLY,
    CONF_SHARING_ENABLED,
    CONF_SUBMIT_KEY,
    DOMAIN,
)
from custom_components.printernizer_usage.engine.engine import UsageEngine

from .conftest import SUBMIT_KEY, SetUpIntegration, make_entry
from .helpers import identity_of, pending_deletions, refresh, sensor_state, time_passes
from .printers import add_prusalink_printer


def _state_of(entry: MockConfigEntry) -> ConfigEntryState:
    state: ConfigEntryState = entry.state
    return state


async def _set_sharing(hass: HomeAssistant, entry: MockConfigEntry, *, enabled: bool) -> None:
    hass.config_entries.async_update_entry(
        entry,
        options={
            CONF_SHARING_ENABLED: enabled,
            CONF_RAW_RETENTION_DAYS: 90,
            CONF_ROTATE_YEARLY: False,
        },
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()


async def test_sets_up_locally_and_unloads(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    entry = await set_up_integration()
    assert entry.state is ConfigEntryState.LOADED
    assert database_path(hass).exists()
    assert sensor_state(hass, entry, "sharing").state == "off"
    assert sensor_state(hass, entry, "next_submission").state == "unknown"
    runtime = entry.runtime_data

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert _state_of(entry) is ConfigEntryState.NOT_LOADED
    assert runtime.closed


async def test_recorded_jobs_survive_a_restart(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    prusa = add_prusalink_printer(hass)
    entry = await set_up_integration()
    for value in ("printing", "finished", "printing", "stopped"):
        prusa.set_state(hass, value)
        await hass.async_block_till_done()
    salt_before = await entry.runtime_data.engine.get_setting("ha.printer_key_salt")

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await refresh(hass, entry)

    assert sensor_state(hass, entry, "jobs_completed").state == "1"
    assert sensor_state(hass, entry, "jobs_cancelled").state == "1"
    assert await entry.runtime_data.engine.get_setting("ha.printer_key_salt") == salt_before


async def test_stopping_home_assistant_closes_the_store(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    entry = await set_up_integration()
    runtime = entry.runtime_data
    await hass.async_stop()
    assert runtime.closed


@pytest.mark.usefixtures("socket_enabled")
async def test_sharing_identity_lifecycle(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    entry = await set_up_integration(sharing=True)
    first = identity_of(entry)
    assert first is not None
    assert uuid.UUID(first.installation_id).version == 4
    assert first.installation_id != await instance_id.async_get(hass)
    assert len(first.secret) == 43
    await refresh(hass, entry)
    assert sensor_state(hass, entry, "sharing").state == "on"
    assert sensor_state(hass, entry, "next_submission").state != "unknown"

    # A restart keeps the identity.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert identity_of(entry) == first

    # Off: the identity is retired, its deletion pending (receiver unreachable here).
    await _set_sharing(hass, entry, enabled=False)
    engine = entry.runtime_data.engine
    assert identity_of(entry) is None
    assert await engine.identities.current() is None
    pending = await pending_deletions(entry)
    assert [item.installation_id for item in pending] == [first.installation_id]
    assert pending[0].secret == first.secret

    # On again: a new random identity; the old one's deletion goes on.
    await _set_sharing(hass, entry, enabled=True)
    second = identity_of(entry)
    assert second is not None
    assert second.installation_id != first.installation_id
    assert second.secret != first.secret


@pytest.mark.usefixtures("socket_enabled")
async def test_removing_the_integration_deletes_the_database(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    entry = await set_up_integration(sharing=True)
    path = database_path(hass)
    assert path.exists()

    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()

    assert not path.exists()
    assert not Path(f"{path}-wal").exists()  # noqa: ASYNC240
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_removing_without_database_is_fine(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    entry = await set_up_integration()
    assert await hass.config_entries.async_unload(entry.entry_id)
    database_path(hass).unlink()
    assert await hass.config_entries.async_remove(entry.entry_id)


async def test_yearly_rotation_starts_a_new_identity(
    hass: HomeAssistant, set_up_integration: SetUpIntegration, freezer: object
) -> None:
    from freezegun.api import FrozenDateTimeFactory  # noqa: PLC0415

    assert isinstance(freezer, FrozenDateTimeFactory)
    freezer.move_to("2026-01-05T12:00:00+00:00")
    entry = await set_up_integration(sharing=True, **{CONF_ROTATE_YEARLY: True})
    first = identity_of(entry)
    assert first is not None

    freezer.move_to("2026-06-01T12:00:00+00:00")
    assert await hass.config_entries.async_reload(entry.entry_id)
    assert identity_of(entry) == first

    freezer.move_to("2027-01-13T12:00:00+00:00")
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    rotated = identity_of(entry)
    assert rotated is not None
    assert rotated.installation_id != first.installation_id
    # Nothing was ever enqueued under the first id (no week ended while it ran): it is forgotten.
    assert [i.installation_id for i in await entry.runtime_data.engine.identities.all()] == [
        rotated.installation_id
    ]


async def test_no_repair_issue_while_local_only(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    await set_up_integration()
    assert ir.async_get(hass).async_get_issue(DOMAIN, "receiver_rejected_credentials") is None


async def test_engine_file_is_in_the_config_directory(hass: HomeAssistant) -> None:
    assert database_path(hass).parent == Path(hass.config.config_dir)
    engine = await UsageEngine.open(database_path(hass))
    await engine.close()


async def test_a_failing_store_makes_the_sensors_unavailable_instead_of_stale(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = await set_up_integration()
    assert sensor_state(hass, entry, "jobs_completed").state == "0"

    async def broken(now: object = None) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(entry.runtime_data.engine, "week_summary", broken)
    await refresh(hass, entry)
    coordinator = entry.runtime_data.coordinator
    assert not coordinator.last_update_success
    assert isinstance(coordinator.last_exception, UpdateFailed)  # expected, not a crash
    assert coordinator.last_exception.translation_key == "store_failed"
    assert sensor_state(hass, entry, "jobs_completed").state == "unavailable"

    monkeypatch.undo()
    await refresh(hass, entry)
    assert sensor_state(hass, entry, "jobs_completed").state == "0"


async def test_the_first_releases_settings_move_into_the_identities_table(
    hass: HomeAssistant, unreachable_receiver_url: str
) -> None:
    """0.1.0 kept the identity, the pending deletions and the credentials pause as JSON settings."""
    engine = await UsageEngine.open(database_path(hass))
    legacy = {
        "ha.installation_id": "0f6b1e7a-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
        "ha.installation_secret": "s" * 43,
        "ha.first_seen": "2026-11-04T09:13:27.123456+00:00",
        "ha.installation_receiver": json.dumps(
            {"receiver_url": unreachable_receiver_url, "submit_key": SUBMIT_KEY}
        ),
        "ha.pending_remote_deletions": json.dumps(
            [
                {
                    "installation_id": "7c1d2e3f-4a5b-4c6d-9e7f-8a9b0c1d2e3f",
                    "secret": "t" * 43,
                    "receiver_url": "https://old.receiver.example",
                    "submit_key": "old-key",
                    "attempts": 3,
                    "next_attempt_at": "2026-11-05T00:00:00+00:00",
                }
            ]
        ),
        "ha.credentials_pause": json.dumps({"status": 401, "fingerprint": "abc"}),
        "ha.last_submission": "2026-11-03T01:02:03+00:00",
    }
    for key, value in legacy.items():
        await engine.set_setting(key, value)
    await engine.close()

    entry = make_entry(unreachable_receiver_url, sharing=True)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    identity = identity_of(entry)
    assert identity is not None
    assert (identity.installation_id, identity.secret) == (
        legacy["ha.installation_id"],
        legacy["ha.installation_secret"],
    )
    assert identity.first_week.isoformat() == "2026-11-02T00:00:00+00:00"  # week precision
    assert identity.refused_status == 401  # still paused: the same key
    assert ir.async_get(hass).async_get_issue(DOMAIN, "receiver_rejected_credentials") is not None
    (old,) = await pending_deletions(entry)
    assert (old.installation_id, old.secret, old.receiver_url, old.submit_key) == (
        "7c1d2e3f-4a5b-4c6d-9e7f-8a9b0c1d2e3f",
        "t" * 43,
        "https://old.receiver.example",
        "old-key",
    )
    exported = await entry.runtime_data.engine.export_all()
    assert not set(exported["settings"]) & set(legacy)


async def test_a_plain_http_receiver_from_an_older_version_is_not_used(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Set up before the HTTPS rule (the flows refuse it now): nothing is sent, a repair issue asks
    for an https address."""
    freezer.move_to("2026-11-04T10:00:00+00:00")
    entry = make_entry("http://usage.example.org", sharing=True)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "receiver_url_not_used")
    assert issue is not None
    assert issue.translation_key == "receiver_url_not_used_insecure_receiver_url"
    assert issue.translation_placeholders == {"receiver_host": "usage.example.org"}

    await time_passes(hass, freezer, "2026-11-17T10:00:00+00:00")
    assert await entry.runtime_data.engine.outbox.items() == []  # not even enqueued for it
    assert await entry.runtime_data.engine.outbox.audit_entries() == []
    identity = identity_of(entry)

    # The user follows the issue: the same receiver over https keeps the identity.
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_RECEIVER_URL: "https://usage.example.org", CONF_SUBMIT_KEY: SUBMIT_KEY},
    )
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, "receiver_url_not_used") is None
    assert identity is not None
    assert identity_of(entry) == replace(identity, receiver_url="https://usage.example.org")
    assert await pending_deletions(entry) == []
