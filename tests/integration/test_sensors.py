"""The sensors a print farm charts: weekly figures, per-printer figures and their translations."""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_FRIENDLY_NAME, ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage.const import DOMAIN
from custom_components.printernizer_usage.diagnostics import async_get_config_entry_diagnostics
from custom_components.printernizer_usage.sensor import PRINTER_SENSORS, SENSORS

from .conftest import SetUpIntegration
from .helpers import refresh, sensor_entity_id, sensor_state
from .printers import FakePrinter, add_bambu_printer, add_moonraker_printer, add_prusalink_printer

COMPONENT = Path(__file__).parents[2] / "custom_components" / "printernizer_usage"
WEEKLY_COUNTERS = (
    "print_hours",
    "paused_hours",
    "jobs_started",
    "jobs_completed",
    "jobs_failed",
    "jobs_cancelled",
    "jobs_ended_without_outcome",
    "filament_used",
    "printer_errors",
    "uptime",
)


def printer_entity_id(
    hass: HomeAssistant, entry: MockConfigEntry, printer: FakePrinter, key: str
) -> str | None:
    """The entity id of a per-printer sensor (None when it does not exist)."""
    watched = entry.runtime_data.fleet.printers.get(printer.device_id)
    if watched is None:
        return None
    entity_id: str | None = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_printer_{watched.key}_{key}"
    )
    return entity_id


def add_moonraker_filament_sensor(hass: HomeAssistant, printer: FakePrinter) -> str:
    """moonraker-home-assistant's `filament_used` sensor (mm, unique id `<entry>_filament_used`)."""
    entity_id = (
        er.async_get(hass)
        .async_get_or_create(
            "sensor",
            "moonraker",
            f"{printer.config_entry.entry_id}_filament_used",
            config_entry=printer.config_entry,
            device_id=printer.device_id,
        )
        .entity_id
    )
    hass.states.async_set(entity_id, "0", {ATTR_UNIT_OF_MEASUREMENT: "mm"})
    return entity_id


async def _step(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, printer: FakePrinter, state: str
) -> None:
    printer.set_state(hass, state)
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=30))


async def test_weekly_and_per_printer_figures(
    hass: HomeAssistant, set_up_integration: SetUpIntegration, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2026-11-18T10:00:00+00:00")  # a Wednesday; the week began on 2026-11-16
    voron = add_moonraker_printer(hass)
    filament = add_moonraker_filament_sensor(hass, voron)
    prusa = add_prusalink_printer(hass)
    entry = await set_up_integration()
    await refresh(hass, entry)

    assert sensor_state(hass, entry, "filament_used").state == "unknown"  # nobody reported any
    assert sensor_state(hass, entry, "print_hours").state == "0.0"
    assert sensor_state(hass, entry, "active_printers").state == "0"

    # Voron: 1 h printing, 30 min paused, 30 min printing, completed with 2.5 m of filament.
    await _step(hass, freezer, voron, "printing")
    freezer.tick(timedelta(minutes=30))
    await _step(hass, freezer, voron, "paused")
    await _step(hass, freezer, voron, "printing")
    hass.states.async_set(filament, "2500", {ATTR_UNIT_OF_MEASUREMENT: "mm"})
    await _step(hass, freezer, voron, "complete")
    # Prusa: 30 min printing, then idle without an outcome.
    await _step(hass, freezer, prusa, "printing")
    await _step(hass, freezer, prusa, "idle")
    await refresh(hass, entry)

    def value(key: str) -> str:
        return sensor_state(hass, entry, key).state

    assert value("jobs_started") == "2"
    assert value("jobs_completed") == "1"
    assert value("jobs_failed") == "0"
    assert value("jobs_cancelled") == "0"
    assert value("jobs_ended_without_outcome") == "1"
    assert value("success_rate") == "100.0"
    assert value("print_hours") == "2.0"
    assert value("paused_hours") == "0.5"
    assert value("active_printers") == "2"
    assert value("filament_used") == "2.5"
    # Print time over printer online time: both printers were online for the 3.5 hours.
    utilization = sensor_state(hass, entry, "utilization")
    assert utilization.attributes["printer_online_hours"] == 7.0
    assert utilization.state == "28.6"

    voron_hours = hass.states.get(str(printer_entity_id(hass, entry, voron, "print_hours")))
    assert voron_hours is not None
    assert voron_hours.state == "1.5"
    assert voron_hours.attributes[ATTR_FRIENDLY_NAME] == (
        "Printernizer Usage Voron print hours this week"
    )
    assert {
        key: voron_hours.attributes[key]
        for key in (
            "family",
            "model",
            "jobs_started",
            "jobs_completed",
            "jobs_ended_without_outcome",
            "success_rate",
            "paused_hours",
            "online_hours",
            "utilization",
            "filament_m",
            "errors",
        )
    } == {
        "family": "klipper",
        "model": "unknown",  # Moonraker reports no printer model
        "jobs_started": 1,
        "jobs_completed": 1,
        "jobs_ended_without_outcome": 0,
        "success_rate": 100.0,
        "paused_hours": 0.5,
        "online_hours": 3.5,
        "utilization": 42.9,
        "filament_m": 2.5,
        "errors": 0,
    }
    voron_jobs = hass.states.get(str(printer_entity_id(hass, entry, voron, "jobs_completed")))
    assert voron_jobs is not None
    assert voron_jobs.state == "1"

    prusa_hours = hass.states.get(str(printer_entity_id(hass, entry, prusa, "print_hours")))
    assert prusa_hours is not None
    assert prusa_hours.state == "0.5"
    assert prusa_hours.attributes["jobs_ended_without_outcome"] == 1
    assert prusa_hours.attributes["success_rate"] is None
    assert prusa_hours.attributes["filament_m"] is None
    prusa_jobs = hass.states.get(str(printer_entity_id(hass, entry, prusa, "jobs_completed")))
    assert prusa_jobs is not None
    assert prusa_jobs.state == "0"


async def test_weekly_counters_reset_every_monday_for_the_statistics(
    hass: HomeAssistant, set_up_integration: SetUpIntegration, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2026-11-22T23:00:00+00:00")  # Sunday, week of 2026-11-16
    prusa = add_prusalink_printer(hass)
    entry = await set_up_integration()
    await refresh(hass, entry)
    per_printer = [str(printer_entity_id(hass, entry, prusa, d.key)) for d in PRINTER_SENSORS]

    def last_resets() -> set[Any]:
        service = {sensor_state(hass, entry, key) for key in WEEKLY_COUNTERS}
        printers = {hass.states.get(entity_id) for entity_id in per_printer}
        return {
            (state.attributes.get("state_class"), state.attributes.get("last_reset"))
            for state in service | printers
            if state is not None
        }

    assert last_resets() == {("total", "2026-11-16T00:00:00+00:00")}

    freezer.move_to("2026-11-23T00:00:30+00:00")
    await refresh(hass, entry)
    assert last_resets() == {("total", "2026-11-23T00:00:00+00:00")}

    # The other sensors are not counters of the week.
    for key in ("printers", "active_printers", "success_rate", "utilization", "pending_uploads"):
        state = sensor_state(hass, entry, key)
        assert "last_reset" not in state.attributes, key
        assert state.attributes["state_class"] == "measurement", key


async def test_per_printer_sensors_follow_the_fleet(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    prusa = add_prusalink_printer(hass)
    entry = await set_up_integration()
    registry = er.async_get(hass)
    assert printer_entity_id(hass, entry, prusa, "print_hours") == (
        "sensor.printernizer_usage_prusa_mk4_print_hours_this_week"
    )
    assert printer_entity_id(hass, entry, prusa, "jobs_completed") == (
        "sensor.printernizer_usage_prusa_mk4_jobs_completed_this_week"
    )

    # A printer that appears at runtime gets its sensors, under the service device, keyed opaquely.
    bambu = add_bambu_printer(hass)
    await hass.async_block_till_done()
    bambu_hours = printer_entity_id(hass, entry, bambu, "print_hours")
    assert bambu_hours is not None
    state = hass.states.get(bambu_hours)
    assert state is not None
    assert state.state == "0.0"
    assert state.attributes["family"] == "bambu_lab"
    registry_entry = registry.async_get(bambu_hours)
    assert registry_entry is not None
    service_device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert service_device is not None
    assert registry_entry.device_id == service_device.id
    for identifying in (bambu.device_id, "01S00C123456789", "My secret printer"):
        assert identifying not in registry_entry.unique_id

    # Renaming the printer's device renames its sensors; the entity id stays.
    dr.async_get(hass).async_update_device(bambu.device_id, name_by_user="Farm X1")
    await hass.async_block_till_done()
    assert printer_entity_id(hass, entry, bambu, "print_hours") == bambu_hours
    state = hass.states.get(bambu_hours)
    assert state is not None
    assert (
        state.attributes[ATTR_FRIENDLY_NAME] == "Printernizer Usage Farm X1 print hours this week"
    )

    # A printer that disappears takes its sensors with it, from the entity registry too.
    dr.async_get(hass).async_remove_device(bambu.device_id)
    await hass.async_block_till_done()
    assert hass.states.get(bambu_hours) is None
    assert registry.async_get(bambu_hours) is None
    assert [
        e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if "_printer_" in e.unique_id and not e.unique_id.endswith("_printer_errors")
    ] == [
        "sensor.printernizer_usage_prusa_mk4_print_hours_this_week",
        "sensor.printernizer_usage_prusa_mk4_jobs_completed_this_week",
    ]


async def test_sensors_of_printers_gone_while_unloaded_are_removed_at_set_up(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    prusa = add_prusalink_printer(hass)
    entry = await set_up_integration()
    entity_id = printer_entity_id(hass, entry, prusa, "print_hours")
    assert entity_id is not None

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    dr.async_get(hass).async_remove_device(prusa.device_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert er.async_get(hass).async_get(entity_id) is None
    assert hass.states.get(entity_id) is None
    # The service device's own sensors are untouched (`printer_errors` looks alike).
    assert sensor_state(hass, entry, "printer_errors").state == "0"


async def test_local_printer_names_never_leave_home_assistant(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    bambu = add_bambu_printer(hass)
    dr.async_get(hass).async_update_device(bambu.device_id, name_by_user="Secret farm printer")
    entry = await set_up_integration()
    entity_id = printer_entity_id(hass, entry, bambu, "print_hours")
    state = hass.states.get(str(entity_id))
    assert state is not None
    assert "Secret farm printer" in state.attributes[ATTR_FRIENDLY_NAME]

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    preview = await hass.services.async_call(
        DOMAIN, "preview_next_payload", blocking=True, return_response=True
    )
    export = await hass.services.async_call(
        DOMAIN, "export_data", blocking=True, return_response=True
    )
    for name, text in (
        ("diagnostics", json.dumps(diagnostics, default=str)),
        ("payload", json.dumps(preview)),
        ("export", json.dumps(export)),
    ):
        for identifying in ("Secret farm printer", "My secret printer", bambu.device_id):
            assert identifying not in text, (name, identifying)


async def test_names_are_translated(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    hass.config.language = "de"
    prusa = add_prusalink_printer(hass)
    entry = await set_up_integration()

    # Home Assistant makes German entity ids from German names (docs/integration.md has both).
    state = sensor_state(hass, entry, "print_hours")
    assert state.entity_id == "sensor.printernizer_usage_druckstunden_diese_woche"
    assert state.attributes[ATTR_FRIENDLY_NAME] == "Printernizer Usage Druckstunden diese Woche"
    entity_id = printer_entity_id(hass, entry, prusa, "print_hours")
    assert entity_id == "sensor.printernizer_usage_prusa_mk4_druckstunden_diese_woche"
    printer_state = hass.states.get(entity_id)
    assert printer_state is not None
    assert printer_state.attributes[ATTR_FRIENDLY_NAME] == (
        "Printernizer Usage Prusa MK4 Druckstunden diese Woche"
    )
    assert sensor_entity_id(hass, entry, "filament_used") == (
        "sensor.printernizer_usage_filamentverbrauch_diese_woche"
    )


def test_every_sensor_has_names_and_an_icon() -> None:
    def load(path: Path) -> dict[str, Any]:
        content: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return content

    keys = {str(d.translation_key) for d in SENSORS} | {
        str(d.translation_key) for d in PRINTER_SENSORS
    }
    strings = load(COMPONENT / "strings.json")["entity"]["sensor"]
    assert set(strings) == keys
    assert load(COMPONENT / "translations" / "en.json")["entity"] == {"sensor": strings}
    german = load(COMPONENT / "translations" / "de.json")["entity"]["sensor"]
    assert set(german) == keys
    for key in ("printer_print_hours", "printer_jobs_completed"):
        assert "{printer}" in strings[key]["name"]
        assert "{printer}" in german[key]["name"]
    assert set(load(COMPONENT / "icons.json")["entity"]["sensor"]) == keys
