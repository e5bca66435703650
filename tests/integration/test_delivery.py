"""Delivery through the Home Assistant layer against a scripted receiver on 127.0.0.1: the credentials
pause and its repair issue, `submit_now` ignoring the backoff, a receiver change deleting the data at the
old receiver, and a removal that cannot hang."""

from datetime import timedelta
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
)
from custom_components.printernizer_usage.engine.uploader import DeliveryReport
from custom_components.printernizer_usage.installation import Installation
from custom_components.printernizer_usage.pending_deletions import (
    ORPHANED_DELETIONS_STORE_KEY,
    load_pending_deletions,
)

from .conftest import SUBMIT_KEY, SetUpIntegration
from .scripted_receiver import HANG, ScriptedReceiver

SHARING_SINCE = "2026-11-02T10:00:00+00:00"  # a Monday
A_WEEK_LATER = "2026-11-10T10:00:00+00:00"  # week 45 completed, beyond any submission offset


def _installation(entry: MockConfigEntry) -> Installation:
    installation = entry.runtime_data.coordinator.installation
    assert isinstance(installation, Installation)
    return installation


def _issue(hass: HomeAssistant) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_RECEIVER_REJECTED_KEY)


async def _run_schedule(entry: MockConfigEntry) -> DeliveryReport | None:
    report: DeliveryReport | None = await entry.runtime_data.coordinator.async_run_schedule(
        dt_util.utcnow()
    )
    return report


async def _sharing_with_a_completed_week(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    receiver_url: str,
) -> MockConfigEntry:
    freezer.move_to(SHARING_SINCE)
    entry = await set_up_integration(sharing=True, receiver_url=receiver_url)
    freezer.move_to(A_WEEK_LATER)
    return entry


async def _reconfigure(hass: HomeAssistant, entry: MockConfigEntry, **data: str) -> None:
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_RECEIVER_URL: entry.data[CONF_RECEIVER_URL], **data}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()


async def test_refused_credentials_pause_delivery_until_the_key_is_changed(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    scripted: ScriptedReceiver,
) -> None:
    entry = await _sharing_with_a_completed_week(hass, set_up_integration, freezer, scripted.url)
    scripted.answers = [(401, {})]
    report = await _run_schedule(entry)
    assert report is not None
    assert report.auth_failed_status == 401
    (item,) = await entry.runtime_data.engine.outbox()
    assert item.status == "pending"  # kept, not given up
    issue = _issue(hass)
    assert issue is not None
    assert issue.translation_placeholders == {"status": "401", "receiver_url": scripted.url}

    # Paused: later schedule runs (and a restart with the same key) send nothing.
    freezer.tick(timedelta(hours=6))
    await _run_schedule(entry)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await _run_schedule(entry)
    assert len(scripted.paths("POST")) == 1
    assert _issue(hass) is not None  # shown again after the restart

    # The user enters a new key: the issue goes and the waiting week is sent at once.
    await _reconfigure(hass, entry, **{CONF_SUBMIT_KEY: "a-new-submit-key"})
    assert _issue(hass) is None
    report = await _run_schedule(entry)
    assert report is not None
    assert (report.sent, report.pending) == (1, 0)
    assert scripted.requests[-1][2]["X-API-Key"] == "a-new-submit-key"


async def test_a_daily_recheck_resumes_delivery_and_clears_the_issue(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    scripted: ScriptedReceiver,
) -> None:
    entry = await _sharing_with_a_completed_week(hass, set_up_integration, freezer, scripted.url)
    scripted.answers = [(403, {})]
    await _run_schedule(entry)
    assert _issue(hass) is not None

    freezer.tick(timedelta(hours=23))
    await _run_schedule(entry)
    assert len(scripted.paths("POST")) == 1

    freezer.tick(timedelta(hours=1))
    report = await _run_schedule(entry)
    assert report is not None
    assert report.sent == 1
    assert _issue(hass) is None
    assert await entry.runtime_data.engine.outbox() == []


async def test_other_refusals_are_given_up_with_an_audit_entry(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    scripted: ScriptedReceiver,
) -> None:
    entry = await _sharing_with_a_completed_week(hass, set_up_integration, freezer, scripted.url)
    scripted.answers = [(422, {})]
    report = await _run_schedule(entry)
    assert report is not None
    assert (report.rejected, report.auth_failed_status) == (1, None)
    assert _issue(hass) is None
    (item,) = await entry.runtime_data.engine.outbox()
    assert item.status == "rejected"
    (audit,) = await entry.runtime_data.engine.audit_log()
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
    old = _installation(entry)

    await _reconfigure(hass, entry, **{CONF_RECEIVER_URL: unreachable_receiver_url})
    await hass.async_block_till_done()
    new = _installation(entry)
    assert new.installation_id != old.installation_id
    await _run_schedule(entry)

    (method, path, headers, _) = scripted.requests[-1]
    assert (method, path) == ("DELETE", f"/installation/{old.installation_id}")
    assert (headers["X-API-Key"], headers["X-Installation-Secret"]) == (SUBMIT_KEY, old.secret)
    assert await load_pending_deletions(entry.runtime_data.engine) == []


async def test_only_a_new_submit_key_keeps_the_identity(
    hass: HomeAssistant, set_up_integration: SetUpIntegration, scripted: ScriptedReceiver
) -> None:
    entry = await set_up_integration(sharing=True, receiver_url=scripted.url)
    old = _installation(entry)
    await _reconfigure(hass, entry, **{CONF_SUBMIT_KEY: "another-key"})
    assert _installation(entry) == old
    assert await load_pending_deletions(entry.runtime_data.engine) == []


async def test_unconfirmed_deletions_wait_with_backoff(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    scripted: ScriptedReceiver,
) -> None:
    entry = await set_up_integration(sharing=True, receiver_url=scripted.url)
    scripted.answers = [(503, {})]
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(DOMAIN, "delete_remote_data", blocking=True)
    (pending,) = await load_pending_deletions(entry.runtime_data.engine)
    assert pending.attempts == 1
    assert pending.next_attempt_at is not None

    await _run_schedule(entry)  # not due yet: no request
    assert len(scripted.paths("DELETE")) == 1
    freezer.tick(timedelta(hours=25))
    await _run_schedule(entry)
    assert len(scripted.paths("DELETE")) == 2
    assert await load_pending_deletions(entry.runtime_data.engine) == []


async def test_removal_does_not_hang_and_keeps_the_deletion_for_the_next_set_up(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    scripted: ScriptedReceiver,
    hass_storage: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(removal, "REMOVAL_DELETION_TIMEOUT", timedelta(milliseconds=200))
    entry = await set_up_integration(sharing=True, receiver_url=scripted.url)
    installation = _installation(entry)
    scripted.answers = [(HANG, {})]

    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert not database_path(hass).exists()
    (kept,) = hass_storage[ORPHANED_DELETIONS_STORE_KEY]["data"]
    assert kept["installation_id"] == installation.installation_id
    assert kept["secret"] == installation.secret
    assert kept["receiver_url"] == scripted.url

    # Installed again (sharing off): the old deletion is adopted, retried and confirmed.
    again = await set_up_integration()
    assert again.state is ConfigEntryState.LOADED
    assert ORPHANED_DELETIONS_STORE_KEY not in hass_storage
    await _run_schedule(again)
    assert scripted.paths("DELETE")[-1] == f"/installation/{installation.installation_id}"
    assert await load_pending_deletions(again.runtime_data.engine) == []


async def test_removal_with_a_confirming_receiver_leaves_nothing_behind(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    scripted: ScriptedReceiver,
    hass_storage: dict[str, Any],
) -> None:
    entry = await set_up_integration(sharing=True, receiver_url=scripted.url)
    installation = _installation(entry)
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert scripted.paths("DELETE") == [f"/installation/{installation.installation_id}"]
    assert ORPHANED_DELETIONS_STORE_KEY not in hass_storage
