"""Diagnostics show settings, the next payload, the outbox and the audit log, redacted."""

import json

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from .conftest import SUBMIT_KEY, SetUpIntegration
from .printers import add_bambu_printer


@pytest.mark.usefixtures("socket_enabled")
async def test_diagnostics_are_redacted_and_complete(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    set_up_integration: SetUpIntegration,
) -> None:
    add_bambu_printer(hass)
    entry = await set_up_integration(sharing=True)
    installation = entry.runtime_data.coordinator.installation
    assert installation is not None

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    text = json.dumps(diagnostics)
    for secret in (SUBMIT_KEY, installation.secret, installation.installation_id):
        assert secret not in text
    assert diagnostics["entry"]["data"]["submit_key"] == "**REDACTED**"
    assert diagnostics["sharing_enabled"] is True
    assert diagnostics["next_payload"]["schema_version"] == "1.1"
    assert diagnostics["next_payload"]["installation"]["installation_id"] == "**REDACTED**"
    assert diagnostics["watched_printers"] == [{"family": "bambu_lab", "model": "X1C"}]
    assert isinstance(diagnostics["outbox"], list)
    assert isinstance(diagnostics["audit_log"], list)
