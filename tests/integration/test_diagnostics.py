"""Diagnostics show settings, the next payload, the outbox, the audit log and the identities: redacted
(no secret, id or key), coarsened (no exact moment: a posted report cannot be matched to the receiver's
rows) and the receiver by its host only. The whole shape is pinned by a snapshot."""

import json
import platform
import re

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.printernizer_usage.const import DOMAIN
from custom_components.printernizer_usage.diagnostics import async_get_config_entry_diagnostics

from .conftest import SUBMIT_KEY, SetUpIntegration
from .helpers import current_identity, time_passes
from .printers import add_bambu_printer, add_prusalink_printer
from .scripted_receiver import ScriptedReceiver

# An exact moment (seconds, or minutes) anywhere in the diagnostics.
EXACT_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


async def test_diagnostics_are_redacted_coarsened_and_complete(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    scripted: ScriptedReceiver,
    snapshot: SnapshotAssertion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        platform, "python_version", lambda: "3.14.2"
    )  # the snapshot's, not the host's
    hass.config.country = "DE"
    add_bambu_printer(hass)
    prusa = add_prusalink_printer(hass)
    freezer.move_to("2026-11-04T09:13:27+00:00")
    entry = await set_up_integration(sharing=True, receiver_url=f"{scripted.url}/t0ken-path")
    identity = current_identity(entry)
    for value in ("printing", "finished"):
        prusa.set_state(hass, value)
        await hass.async_block_till_done()
    # A week was sent, the next one refused once, the data deleted remotely (its answer names the id).
    scripted.answers = [(200, {}), (503, {"Retry-After": "60"})]
    await time_passes(hass, freezer, "2026-11-17T10:41:09+00:00")
    await time_passes(hass, freezer, "2026-11-24T11:02:51+00:00")
    await hass.services.async_call(DOMAIN, "delete_remote_data", blocking=True)

    # Called directly: the HTTP client's access token would need the real time, and moving the clock
    # there would run the schedule.
    diagnostics = json.loads(json.dumps(await async_get_config_entry_diagnostics(hass, entry)))

    text = json.dumps(diagnostics)
    for secret in (
        SUBMIT_KEY,
        identity.secret,
        identity.installation_id,
        "t0ken-path",
        scripted.url,
    ):
        assert secret not in text
    assert EXACT_MOMENT.findall(text) == [
        # only the weeks a payload covers (Monday 00:00): what the payload needs, not when it was made
        "2026-11-09T00:00",  # first_seen
        "2026-11-16T00:00",  # period.start
        "2026-11-23T00:00",  # period.end
    ]
    assert diagnostics == snapshot


@pytest.mark.usefixtures("socket_enabled")
async def test_diagnostics_while_local_only(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    set_up_integration: SetUpIntegration,
) -> None:
    add_bambu_printer(hass)
    entry = await set_up_integration()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["sharing_enabled"] is False
    assert diagnostics["identities"] == []
    assert diagnostics["next_payload"]["installation"]["installation_id"] == "**REDACTED**"
    assert diagnostics["watched_printers"] == [{"family": "bambu_lab", "model": "X1C"}]
