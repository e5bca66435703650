"""Fake Bambu Lab, PrusaLink, OctoPrint and Moonraker printers (real registry entries and states)
drive the recorded events and the sensors."""

import json
from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.printernizer_usage.const import DOMAIN

from .conftest import SetUpIntegration
from .helpers import refresh, sensor_state
from .printers import (
    add_bambu_printer,
    add_elegoo_printer,
    add_moonraker_printer,
    add_octoprint_printer,
    add_prusalink_printer,
)


async def test_finds_printers_by_registry_and_ignores_accessories(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    add_bambu_printer(hass)
    add_prusalink_printer(hass)
    add_octoprint_printer(hass)
    add_moonraker_printer(hass)
    entry = await set_up_integration()
    await refresh(hass, entry)

    printers = sensor_state(hass, entry, "printers")
    assert printers.state == "4"
    assert printers.attributes["by_family"] == {
        "bambu_lab": 1,
        "klipper": 1,
        "octoprint": 1,
        "prusa": 1,
    }
    assert printers.attributes["by_model"]["bambu_lab"] == {"X1C": 1}
    assert printers.attributes["by_model"]["prusa"] == {"unknown": 1}


async def test_job_state_changes_become_job_outcomes(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    bambu = add_bambu_printer(hass)
    prusa = add_prusalink_printer(hass)
    octoprint = add_octoprint_printer(hass)
    moonraker = add_moonraker_printer(hass)
    entry = await set_up_integration()

    for printer, states in (
        (bambu, ["prepare", "running", "finish"]),
        (prusa, ["printing", "error"]),
        (octoprint, ["printing", "cancelling", "operational"]),
        (moonraker, ["printing", "complete"]),
    ):
        for value in states:
            printer.set_state(hass, value)
            await hass.async_block_till_done()
    await refresh(hass, entry)

    assert sensor_state(hass, entry, "jobs_completed").state == "2"
    assert sensor_state(hass, entry, "jobs_failed").state == "1"
    assert sensor_state(hass, entry, "jobs_cancelled").state == "1"
    assert sensor_state(hass, entry, "success_rate").state == "50.0"


async def test_bambu_bus_events_count_errors_and_jobs(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    bambu = add_bambu_printer(hass)
    entry = await set_up_integration()

    # The job is opened by the state (the event also fires for calibrations), closed by the event.
    bambu.set_state(hass, "running")
    await hass.async_block_till_done()
    for event_type in ("event_print_started", "event_print_canceled"):
        hass.bus.async_fire(
            "bambu_lab_event",
            {"device_id": bambu.device_id, "name": "My secret printer", "type": event_type},
        )
    hass.bus.async_fire(
        "bambu_lab_event",
        {
            "device_id": bambu.device_id,
            "name": "My secret printer",
            "type": "event_printer_error",
            "code": "0300_0100",
        },
    )
    # Events of devices that are not printers (or unknown types) are ignored.
    hass.bus.async_fire(
        "bambu_lab_event", {"device_id": "someone-else", "type": "event_print_started"}
    )
    hass.bus.async_fire("bambu_lab_event", {"device_id": bambu.device_id, "type": 42})
    await hass.async_block_till_done()
    await refresh(hass, entry)

    assert sensor_state(hass, entry, "jobs_cancelled").state == "1"
    assert sensor_state(hass, entry, "printer_errors").state == "1"
    export = await hass.services.async_call(
        DOMAIN, "export_data", blocking=True, return_response=True
    )
    exported = json.dumps(export)
    assert "0300_0100" in exported
    for identifying in ("My secret printer", "01S00C123456789", bambu.device_id):
        assert identifying not in exported


async def test_job_states_written_in_one_go_are_each_observed(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    # elegoo-homeassistant coordinator.py `_replay_cc2_print_status_transitions` writes every queued
    # CC2 status (a COMPLETE or STOPPED that lasted an instant, then IDLE) in one loop iteration.
    elegoo = add_elegoo_printer(hass)
    entry = await set_up_integration()

    for transitions in (["stopping", "stopped", "idle"], ["complete", "idle"]):
        elegoo.set_state(hass, "printing")
        await hass.async_block_till_done()
        for value in transitions:
            elegoo.set_state(hass, value)
        await hass.async_block_till_done()
    await refresh(hass, entry)

    assert sensor_state(hass, entry, "jobs_cancelled").state == "1"
    assert sensor_state(hass, entry, "jobs_completed").state == "1"


async def test_printers_added_and_removed_at_runtime(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    entry = await set_up_integration()
    await refresh(hass, entry)
    assert sensor_state(hass, entry, "printers").state == "0"

    bambu = add_bambu_printer(hass)
    prusa = add_prusalink_printer(hass)
    await hass.async_block_till_done()
    await refresh(hass, entry)
    assert sensor_state(hass, entry, "printers").state == "2"
    assert len(entry.runtime_data.fleet.printers) == 2

    # A job on the newly found printer is followed.
    prusa.set_state(hass, "printing")
    await hass.async_block_till_done()
    prusa.set_state(hass, "finished")
    await hass.async_block_till_done()
    await refresh(hass, entry)
    assert sensor_state(hass, entry, "jobs_completed").state == "1"

    dr.async_get(hass).async_remove_device(bambu.device_id)
    await hass.async_block_till_done()
    await refresh(hass, entry)
    assert len(entry.runtime_data.fleet.printers) == 1
    assert sensor_state(hass, entry, "printers").state == "1"

    # Disabling the job-state entity stops observing that printer too.
    er.async_get(hass).async_update_entity(
        prusa.job_state_entity_id, disabled_by=er.RegistryEntryDisabler.USER
    )
    await hass.async_block_till_done()
    assert entry.runtime_data.fleet.printers == {}


async def test_unrelated_registry_changes_do_not_disturb_the_fleet(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    add_bambu_printer(hass)
    entry = await set_up_integration()
    before = dict(entry.runtime_data.fleet.printers)
    other = er.async_get(hass).async_get_or_create("sensor", "demo", "unrelated")
    er.async_get(hass).async_update_entity(other.entity_id, name="renamed")
    await hass.async_block_till_done()
    assert entry.runtime_data.fleet.printers == before


async def test_disconnection_is_debounced(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    prusa = add_prusalink_printer(hass)
    entry = await set_up_integration()
    tracker = entry.runtime_data.fleet.printers[prusa.device_id].tracker
    assert tracker.connected is True

    prusa.set_state(hass, "unavailable")
    await hass.async_block_till_done()
    assert tracker.connected is True  # a hiccup is not a disconnection yet

    prusa.set_state(hass, "idle")
    await hass.async_block_till_done()
    assert tracker.connected is True


async def test_a_lasting_disconnection_is_recorded_by_the_periodic_poll(
    hass: HomeAssistant, set_up_integration: SetUpIntegration, freezer: FrozenDateTimeFactory
) -> None:
    prusa = add_prusalink_printer(hass)
    entry = await set_up_integration()
    tracker = entry.runtime_data.fleet.printers[prusa.device_id].tracker

    prusa.set_state(hass, "unavailable")
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=95))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert tracker.connected is False
    await entry.runtime_data.engine.flush()
    exported = await entry.runtime_data.engine.export_all()
    assert "printer_disconnected" in json.dumps(exported)
