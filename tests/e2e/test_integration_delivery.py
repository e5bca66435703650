"""The integration's outbox delivers to a REAL receiver over HTTP (subprocess on 127.0.0.1), which stores
each week once; switching sharing off deletes everything remotely; a wrong key raises a repair issue."""

from datetime import timedelta
from pathlib import Path

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage.const import (
    CONF_RAW_RETENTION_DAYS,
    CONF_RECEIVER_URL,
    CONF_ROTATE_YEARLY,
    CONF_SHARING_ENABLED,
    CONF_SUBMIT_KEY,
    DOMAIN,
    ISSUE_RECEIVER_REJECTED_KEY,
    SECTION_ADVANCED,
)
from tests.integration.helpers import current_identity, fire_due_timers, pending_deletions
from tests.integration.printers import add_bambu_printer, add_prusalink_printer
from tests.receiver_server import RunningReceiver, run_receiver

from .conftest import SUBMIT_KEY, receiver_env
from .receiver_db import rows_about, stored_periods

pytestmark = pytest.mark.usefixtures("socket_enabled")


def _entry(receiver_url: str, submit_key: str = SUBMIT_KEY) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        data={CONF_RECEIVER_URL: receiver_url, CONF_SUBMIT_KEY: submit_key},
        options={
            CONF_SHARING_ENABLED: True,
            CONF_RAW_RETENTION_DAYS: 90,
            CONF_ROTATE_YEARLY: False,
        },
    )


async def test_missed_weeks_are_delivered_once_and_deleted_on_opt_out(
    hass: HomeAssistant,
    receiver: RunningReceiver,
    database_url: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    real_now = dt_util.utcnow()
    # Sharing was switched on three weeks ago; Home Assistant has not sent anything since.
    freezer.move_to(real_now - timedelta(days=21))
    prusa = add_prusalink_printer(hass)
    add_bambu_printer(hass)
    entry = _entry(receiver.url)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for value in ("printing", "finished"):
        prusa.set_state(hass, value)
        await hass.async_block_till_done()
    installation = current_identity(entry)

    freezer.move_to(real_now)
    response = await hass.services.async_call(
        DOMAIN, "submit_now", blocking=True, return_response=True
    )
    assert response is not None
    # The weeks after the one sharing was switched on in (2 or 3, depending on the weekday).
    assert response["sent"] in {2, 3}
    assert response["pending"] == 0
    periods = await stored_periods(database_url, installation.installation_id)
    assert len(periods) == response["sent"]

    # Again: nothing new is sent, nothing is stored twice.
    response = await hass.services.async_call(
        DOMAIN, "submit_now", blocking=True, return_response=True
    )
    assert response is not None
    assert response["sent"] == 0
    assert await stored_periods(database_url, installation.installation_id) == periods

    audit = await entry.runtime_data.engine.outbox.audit_entries()
    assert {entry.status_code for entry in audit if entry.action == "submit"} == {200}

    # Opt-out: the receiver deletes everything and confirms; nothing stays pending.
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_SHARING_ENABLED: False}
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await fire_due_timers(hass)
    assert await pending_deletions(entry) == []
    assert await entry.runtime_data.engine.identities.all() == []
    assert set((await rows_about(database_url, [installation.installation_id])).values()) == {0}


async def test_rejected_submit_key_pauses_until_the_user_enters_the_right_one(
    hass: HomeAssistant,
    receiver: RunningReceiver,
    database_url: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    real_now = dt_util.utcnow()
    freezer.move_to(real_now - timedelta(days=15))
    entry = _entry(receiver.url, submit_key="not-a-valid-key")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    installation = current_identity(entry)

    freezer.move_to(real_now)
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(DOMAIN, "submit_now", blocking=True)
    assert raised.value.translation_placeholders == {"status": "401"}
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_RECEIVER_REJECTED_KEY)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["status"] == "401"
    waiting = [item.status for item in await entry.runtime_data.engine.outbox.items()]
    assert waiting
    assert set(waiting) == {"pending"}

    # The user follows the repair issue: Reconfigure with the receiver's key.
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_RECEIVER_URL: receiver.url, CONF_SUBMIT_KEY: SUBMIT_KEY}
    )
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_RECEIVER_REJECTED_KEY) is None
    assert current_identity(entry).installation_id == installation.installation_id
    await fire_due_timers(hass)
    assert len(await stored_periods(database_url, installation.installation_id)) == len(waiting)
    assert await entry.runtime_data.engine.outbox.items() == []


async def test_a_new_receiver_deletes_everything_at_the_old_one(
    hass: HomeAssistant,
    receiver: RunningReceiver,
    database_url: str,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    real_now = dt_util.utcnow()
    freezer.move_to(real_now - timedelta(days=15))
    entry = _entry(receiver.url)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    old = current_identity(entry)
    freezer.move_to(real_now)
    await hass.services.async_call(DOMAIN, "submit_now", blocking=True)
    assert await stored_periods(database_url, old.installation_id) != []

    second_url = f"sqlite+aiosqlite:///{tmp_path / 'second-receiver.db'}"
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    with run_receiver(second_url, second_dir, env=receiver_env()) as second:
        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {
                CONF_SHARING_ENABLED: True,
                CONF_RAW_RETENTION_DAYS: 90,
                CONF_ROTATE_YEARLY: False,
                SECTION_ADVANCED: {CONF_RECEIVER_URL: second.url, CONF_SUBMIT_KEY: SUBMIT_KEY},
            },
        )
        await hass.async_block_till_done()
        new = current_identity(entry)
        assert new.installation_id != old.installation_id
        await fire_due_timers(hass)

    assert await stored_periods(database_url, old.installation_id) == []
    assert await pending_deletions(entry) == []
    deletions = [
        e for e in await entry.runtime_data.engine.outbox.audit_entries() if e.action == "delete"
    ]
    assert [(e.installation_id, e.status_code) for e in deletions] == [(old.installation_id, 200)]
