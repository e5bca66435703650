"""Delivery through the Home Assistant layer against a scripted receiver on 127.0.0.1, driven by Home
Assistant's time (`async_fire_time_changed`), never by calling the scheduler: the weekly schedule across
week boundaries, the credentials pause and its repair issue, `submit_now` ignoring the backoff, a receiver
change deleting the data at the old receiver, and removals that neither hang nor drop a deletion."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage import database_path, removal
from custom_components.printernizer_usage.const import (
    CONF_RECEIVER_URL,
    CONF_SUBMIT_KEY,
    DOMAIN,
    ISSUE_RECEIVER_REJECTED_KEY,
    ISSUE_REMOTE_DELETION_PENDING,
)
from custom_components.printernizer_usage.pending_deletions import ORPHANED_DELETIONS_STORE_KEY
from custom_components.printernizer_usage.schedule import submission_offset

from .conftest import SUBMIT_KEY, SetUpIntegration
from .helpers import current_identity, fire_due_timers, pending_deletions, time_passes
from .printers import add_prusalink_printer
from .scripted_receiver import HANG, ScriptedReceiver

SHARING_SINCE = "2026-11-02T10:00:00+00:00"  # a Monday: the first week shared starts on Nov 9
FIRST_WEEK = datetime.fromisoformat("2026-11-09T00:00:00+00:00")
FIRST_WEEK_SENT = "2026-11-17T10:00:00+00:00"  # week 46 has ended, beyond any submission offset


def _issue(
    hass: HomeAssistant, issue_id: str = ISSUE_RECEIVER_REJECTED_KEY
) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id)


async def _sharing_with_a_completed_week(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    receiver_url: str,
) -> MockConfigEntry:
    freezer.move_to(SHARING_SINCE)
    entry = await set_up_integration(sharing=True, receiver_url=receiver_url)
    freezer.move_to(FIRST_WEEK_SENT)
    return entry


async def _reconfigure(hass: HomeAssistant, entry: MockConfigEntry, **data: str) -> None:
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_RECEIVER_URL: entry.data[CONF_RECEIVER_URL], **data}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    await fire_due_timers(hass)  # the reloaded schedule's first round


async def test_each_week_is_sent_once_at_its_moment_and_nothing_from_before_opt_in(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    scripted: ScriptedReceiver,
) -> None:
    prusa = add_prusalink_printer(hass)
    freezer.move_to("2026-11-02T08:00:00+00:00")  # Monday of week 45, before opt-in
    entry = await set_up_integration(receiver_url=scripted.url)
    for value in ("printing", "finished"):  # a job recorded before sharing is switched on
        prusa.set_state(hass, value)
        await hass.async_block_till_done()
    await entry.runtime_data.engine.flush()

    freezer.move_to("2026-11-04T12:00:00+00:00")  # Wednesday: sharing on
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "sharing_enabled": True}
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    identity = current_identity(entry)
    assert identity.first_week == FIRST_WEEK
    for value in ("printing", "finished"):  # a job after opt-in, still in week 45
        prusa.set_state(hass, value)
        await hass.async_block_till_done()

    # Hour by hour across two week boundaries: nothing for week 45, week 46 at its moment, once.
    due = FIRST_WEEK + timedelta(days=7) + submission_offset(identity.installation_id)
    moment = datetime.fromisoformat("2026-11-04T13:00:00+00:00")
    sent_at: list[datetime] = []
    while moment < due + timedelta(days=7, hours=2):
        await time_passes(hass, freezer, moment)
        if len(scripted.paths("POST")) > len(sent_at):
            sent_at.append(dt_util.utcnow())
        if moment < due - timedelta(hours=1):
            assert scripted.paths("POST") == [], moment
        moment += timedelta(hours=1)
    assert len(sent_at) == 2
    assert due <= sent_at[0] < due + timedelta(hours=1)
    bodies = [body for method, _, _, body in scripted.requests if method == "POST"]
    assert [body["period"]["start"] for body in bodies] == [
        "2026-11-09T00:00:00Z",
        "2026-11-16T00:00:00Z",
    ]
    assert [body["usage_stats"]["jobs_completed"] for body in bodies] == [0, 0]
    assert bodies[0]["installation"]["first_seen"] == "2026-11-09T00:00:00Z"
    assert await entry.runtime_data.engine.outbox.items() == []


async def test_refused_credentials_pause_delivery_until_the_key_is_changed(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    scripted: ScriptedReceiver,
) -> None:
    entry = await _sharing_with_a_completed_week(hass, set_up_integration, freezer, scripted.url)
    scripted.answers = [(401, {})]
    await time_passes(hass, freezer)
    (item,) = await entry.runtime_data.engine.outbox.items()
    assert item.status == "pending"  # kept, not given up
    issue = _issue(hass)
    assert issue is not None
    assert issue.translation_placeholders == {"status": "401", "receiver_host": "127.0.0.1"}
    assert current_identity(entry).refused_status == 401

    # Paused: later rounds (and a restart with the same key) send nothing.
    await time_passes(hass, freezer, dt_util.utcnow() + timedelta(hours=6))
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await time_passes(hass, freezer, dt_util.utcnow() + timedelta(hours=1))
    assert len(scripted.paths("POST")) == 1
    assert _issue(hass) is not None  # shown again after the restart

    # The user enters a new key: the issue goes and the waiting week is sent at once.
    await _reconfigure(hass, entry, **{CONF_SUBMIT_KEY: "a-new-submit-key"})
    assert _issue(hass) is None
    assert len(scripted.paths("POST")) == 2
    assert scripted.requests[-1][2]["X-API-Key"] == "a-new-submit-key"
    assert await entry.runtime_data.engine.outbox.items() == []


async def test_a_daily_recheck_resumes_delivery_and_clears_the_issue(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    scripted: ScriptedReceiver,
) -> None:
    entry = await _sharing_with_a_completed_week(hass, set_up_integration, freezer, scripted.url)
    scripted.answers = [(403, {})]
    await time_passes(hass, freezer)
    assert _issue(hass) is not None
    refused_at = dt_util.utcnow()

    await time_passes(hass, freezer, refused_at + timedelta(hours=23))
    assert len(scripted.paths("POST")) == 1

    await time_passes(hass, freezer, refused_at + timedelta(hours=24, minutes=1))
    assert len(scripted.paths("POST")) == 2
    assert _issue(hass) is None
    assert await entry.runtime_data.engine.outbox.items() == []
    assert current_identity(entry).refused_status is None


async def test_other_refusals_are_given_up_with_an_audit_entry(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    scripted: ScriptedReceiver,
) -> None:
    entry = await _sharing_with_a_completed_week(hass, set_up_integration, freezer, scripted.url)
    scripted.answers = [(422, {})]
    await time_passes(hass, freezer)
    assert _issue(hass) is None
    (item,) = await entry.runtime_data.engine.outbox.items()
    assert item.status == "rejected"
    (audit,) = await entry.runtime_data.engine.outbox.audit_entries()
    assert (audit.action, audit.status_code) == ("submit", 422)


async def _submit_now(hass: HomeAssistant) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "submit_now", blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def test_submit_now_sends_at_once_whatever_the_backoff(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    scripted: ScriptedReceiver,
) -> None:
    await _sharing_with_a_completed_week(hass, set_up_integration, freezer, scripted.url)
    scripted.answers = [(503, {"Retry-After": "7200"})]
    with pytest.raises(HomeAssistantError) as raised:
        await _submit_now(hass)
    assert raised.value.translation_key == "receiver_unreachable"
    assert raised.value.translation_placeholders is not None
    assert raised.value.translation_placeholders["error"].startswith("503")
    assert raised.value.translation_placeholders["pending"] == "1"

    # The receiver is back; the user does not want to wait two hours.
    assert await _submit_now(hass) == {"sent": 1, "rejected": 0, "pending": 0, "retry_at": None}
    assert len(scripted.paths("POST")) == 2


async def test_submit_now_reports_refused_credentials(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    scripted: ScriptedReceiver,
) -> None:
    await _sharing_with_a_completed_week(hass, set_up_integration, freezer, scripted.url)
    scripted.answers = [(401, {})]
    with pytest.raises(HomeAssistantError) as raised:
        await _submit_now(hass)
    assert raised.value.translation_key == "credentials_rejected"
    assert raised.value.translation_placeholders == {"status": "401"}
    # Pressing it again is the user's intent: one more try, answered by the receiver this time.
    assert (await _submit_now(hass))["sent"] == 1


async def test_a_new_receiver_url_deletes_the_data_at_the_old_receiver(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    scripted: ScriptedReceiver,
    unreachable_receiver_url: str,
) -> None:
    entry = await set_up_integration(sharing=True, receiver_url=scripted.url)
    old = current_identity(entry)

    await _reconfigure(hass, entry, **{CONF_RECEIVER_URL: unreachable_receiver_url})
    new = current_identity(entry)
    assert new.installation_id != old.installation_id

    (method, path, headers, _) = scripted.requests[-1]
    assert (method, path) == ("DELETE", f"/installation/{old.installation_id}")
    assert (headers["X-API-Key"], headers["X-Installation-Secret"]) == (SUBMIT_KEY, old.secret)
    assert await pending_deletions(entry) == []
    assert [item.installation_id for item in await entry.runtime_data.engine.identities.all()] == [
        new.installation_id
    ]


async def test_only_a_new_submit_key_keeps_the_identity(
    hass: HomeAssistant, set_up_integration: SetUpIntegration, scripted: ScriptedReceiver
) -> None:
    entry = await set_up_integration(sharing=True, receiver_url=scripted.url)
    old = current_identity(entry)
    await _reconfigure(hass, entry, **{CONF_SUBMIT_KEY: "another-key"})
    assert current_identity(entry).installation_id == old.installation_id
    assert current_identity(entry).submit_key == "another-key"
    assert await pending_deletions(entry) == []
    assert scripted.paths("DELETE") == []


async def test_unconfirmed_deletions_wait_with_backoff(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    scripted: ScriptedReceiver,
) -> None:
    entry = await set_up_integration(sharing=True, receiver_url=scripted.url)
    scripted.answers = [(503, {}), (404, {})]
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(DOMAIN, "delete_remote_data", blocking=True)
    (pending,) = await pending_deletions(entry)
    assert pending.deletion_attempts == 1
    assert pending.next_deletion_at is not None

    await time_passes(hass, freezer, dt_util.utcnow() + timedelta(minutes=1))  # not due yet
    assert len(scripted.paths("DELETE")) == 1
    await time_passes(hass, freezer, dt_util.utcnow() + timedelta(hours=25))
    assert len(scripted.paths("DELETE")) == 2  # answered 404: not a confirmation
    (pending,) = await pending_deletions(entry)
    assert pending.deletion_attempts == 2
    await time_passes(hass, freezer, dt_util.utcnow() + timedelta(hours=25))
    assert len(scripted.paths("DELETE")) == 3
    assert await pending_deletions(entry) == []
    assert current_identity(entry).installation_id == pending.installation_id  # sharing goes on


async def test_a_removal_while_the_receiver_fails_keeps_retrying_until_confirmed(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    scripted: ScriptedReceiver,
    hass_storage: dict[str, Any],
) -> None:
    entry = await set_up_integration(sharing=True, receiver_url=scripted.url)
    identity = current_identity(entry)
    scripted.answers = [(503, {}), (404, {})]

    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert not database_path(hass).exists()
    (kept,) = hass_storage[ORPHANED_DELETIONS_STORE_KEY]["data"]
    assert (kept["installation_id"], kept["secret"], kept["receiver_url"]) == (
        identity.installation_id,
        identity.secret,
        scripted.url,
    )
    issue = _issue(hass, ISSUE_REMOTE_DELETION_PENDING)
    assert issue is not None
    assert issue.is_persistent
    assert issue.translation_placeholders == {"count": "1", "receivers": "127.0.0.1"}

    # Home Assistant keeps running: the deletion is retried with backoff until confirmed.
    await time_passes(hass, freezer, dt_util.utcnow() + timedelta(hours=25))
    assert len(scripted.paths("DELETE")) == 2  # 404: not a confirmation
    assert ORPHANED_DELETIONS_STORE_KEY in hass_storage
    await time_passes(hass, freezer, dt_util.utcnow() + timedelta(hours=25))
    assert scripted.paths("DELETE")[-1] == f"/installation/{identity.installation_id}"
    assert ORPHANED_DELETIONS_STORE_KEY not in hass_storage
    assert _issue(hass, ISSUE_REMOTE_DELETION_PENDING) is None


async def test_removal_does_not_hang_and_the_next_set_up_adopts_the_deletion(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    scripted: ScriptedReceiver,
    hass_storage: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(removal, "REMOVAL_DELETION_TIMEOUT", timedelta(milliseconds=200))
    entry = await set_up_integration(sharing=True, receiver_url=scripted.url)
    identity = current_identity(entry)
    scripted.answers = [(HANG, {})]
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert ORPHANED_DELETIONS_STORE_KEY in hass_storage
    scripted.released.set()

    # Installed again (sharing off): the old deletion is adopted, retried and confirmed.
    again = await set_up_integration(receiver_url=scripted.url)
    assert again.state is ConfigEntryState.LOADED
    assert ORPHANED_DELETIONS_STORE_KEY not in hass_storage
    await fire_due_timers(hass)  # the schedule's first round
    assert len(scripted.paths("DELETE")) == 2
    assert scripted.paths("DELETE")[-1] == f"/installation/{identity.installation_id}"
    assert await pending_deletions(again) == []
    assert _issue(hass, ISSUE_REMOTE_DELETION_PENDING) is None


async def test_removal_with_a_confirming_receiver_leaves_nothing_behind(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    scripted: ScriptedReceiver,
    hass_storage: dict[str, Any],
) -> None:
    entry = await set_up_integration(sharing=True, receiver_url=scripted.url)
    identity = current_identity(entry)
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert scripted.paths("DELETE") == [f"/installation/{identity.installation_id}"]
    assert ORPHANED_DELETIONS_STORE_KEY not in hass_storage
    assert _issue(hass, ISSUE_REMOTE_DELETION_PENDING) is None
