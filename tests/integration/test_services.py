"""The actions: preview, submit now, export, delete local and remote data."""

import re
from typing import Any, cast

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from custom_components.printernizer_usage.const import DOMAIN, SETTING_PRINTER_KEY_SALT
from custom_components.printernizer_usage.context import PREVIEW_INSTALLATION_ID

from .conftest import SetUpIntegration
from .helpers import current_identity, pending_deletions, refresh, sensor_state
from .printers import add_bambu_printer, add_prusalink_printer


async def _call(hass: HomeAssistant, service: str) -> dict[str, Any]:
    response = await hass.services.async_call(DOMAIN, service, blocking=True, return_response=True)
    assert response is not None
    return cast(dict[str, Any], response)


async def test_preview_shows_the_payload_of_this_week(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    prusa = add_prusalink_printer(hass)
    add_bambu_printer(hass)
    hass.config.country = "DE"
    await set_up_integration()
    prusa.set_state(hass, "printing")
    await hass.async_block_till_done()
    prusa.set_state(hass, "finished")
    await hass.async_block_till_done()

    response = await _call(hass, "preview_next_payload")
    assert response["sharing_enabled"] is False
    payload = response["payload"]
    assert payload["schema_version"] == "1.1"
    assert payload["installation"]["installation_id"] == PREVIEW_INSTALLATION_ID
    assert payload["installation"]["data_source"] == "home_assistant"
    assert payload["installation"]["country_code"] == "DE"
    assert payload["printer_fleet"]["printer_type_counts"] == {"bambu_lab": 1, "prusa": 1}
    assert payload["usage_stats"]["jobs_completed"] == 1
    # The moment the payload was built is shown at week precision only.
    assert re.fullmatch(r"\d{4}-W\d{2}", payload["submission_timestamp"])


async def test_export_returns_all_local_data_without_secrets(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    entry = await set_up_integration(sharing=True)
    identity = current_identity(entry)
    response = await _call(hass, "export_data")
    settings = response["settings"]
    assert isinstance(settings, dict)
    assert settings[SETTING_PRINTER_KEY_SALT] == "**REDACTED**"
    (exported,) = response["identities"]
    assert exported["installation_id"] == identity.installation_id  # the user's own data
    assert exported["receiver_host"] == "127.0.0.1"
    assert identity.secret not in str(response)
    assert identity.receiver_url not in str(response)  # the host only
    assert {"events", "printer_rollups", "outbox", "audit_log"} <= response.keys()


async def test_delete_local_data_clears_the_week(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    prusa = add_prusalink_printer(hass)
    entry = await set_up_integration()
    for value in ("printing", "finished"):
        prusa.set_state(hass, value)
        await hass.async_block_till_done()
    await refresh(hass, entry)
    assert sensor_state(hass, entry, "jobs_completed").state == "1"

    await hass.services.async_call(DOMAIN, "delete_local_data", blocking=True)
    await hass.async_block_till_done()
    assert sensor_state(hass, entry, "jobs_completed").state == "0"
    exported = await _call(hass, "export_data")
    assert exported["events"] == []


async def test_submit_now_needs_sharing(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    await set_up_integration()
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(DOMAIN, "submit_now", blocking=True)
    assert raised.value.translation_key == "sharing_disabled"


async def test_delete_remote_data_without_anything_shared(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    await set_up_integration()
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(DOMAIN, "delete_remote_data", blocking=True)
    assert raised.value.translation_key == "nothing_to_delete"


@pytest.mark.usefixtures("socket_enabled")
async def test_unconfirmed_remote_deletion_is_kept_for_retry(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    entry = await set_up_integration(sharing=True)
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(DOMAIN, "delete_remote_data", blocking=True)
    assert raised.value.translation_key == "deletion_failed"
    pending = await pending_deletions(entry)
    assert [item.installation_id for item in pending] == [current_identity(entry).installation_id]


@pytest.mark.usefixtures("socket_enabled")
async def test_submit_now_with_the_receiver_down(
    hass: HomeAssistant, set_up_integration: SetUpIntegration, freezer: object
) -> None:
    from freezegun.api import FrozenDateTimeFactory  # noqa: PLC0415

    assert isinstance(freezer, FrozenDateTimeFactory)
    freezer.move_to("2026-11-02T10:00:00+00:00")
    entry = await set_up_integration(sharing=True)
    freezer.move_to("2026-11-17T10:00:00+00:00")  # the first week shared (46) has ended
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(DOMAIN, "submit_now", blocking=True)
    assert raised.value.translation_key == "receiver_unreachable"
    await refresh(hass, entry)
    assert sensor_state(hass, entry, "pending_uploads").state == "1"


async def test_actions_need_a_loaded_entry(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    entry = await set_up_integration()
    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN, "preview_next_payload", blocking=True, return_response=True
        )
    assert raised.value.translation_key == "not_loaded"


@pytest.mark.usefixtures("socket_enabled")
async def test_export_hides_the_secrets_of_pending_remote_deletions(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    entry = await set_up_integration(sharing=True)
    installation = current_identity(entry)
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(DOMAIN, "delete_remote_data", blocking=True)

    response = await _call(hass, "export_data")
    assert installation.secret not in str(response)
    assert installation.installation_id in str(response)
