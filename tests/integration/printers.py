"""Fake printers of the real printer integrations, made of real registry entries and states."""

from dataclasses import dataclass

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry


@dataclass(frozen=True)
class FakePrinter:
    """A printer device and its job-state sensor."""

    config_entry: MockConfigEntry
    device_id: str
    job_state_entity_id: str

    def set_state(self, hass: HomeAssistant, value: str) -> None:
        hass.states.async_set(self.job_state_entity_id, value)


def _entry(hass: HomeAssistant, domain: str) -> MockConfigEntry:
    entry = MockConfigEntry(domain=domain, title=f"{domain} printer")
    entry.add_to_hass(hass)
    return entry


def _sensor(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    device: dr.DeviceEntry,
    unique_id: str,
    translation_key: str | None,
) -> str:
    registry_entry = er.async_get(hass).async_get_or_create(
        "sensor",
        entry.domain,
        unique_id,
        config_entry=entry,
        device_id=device.id,
        translation_key=translation_key,
    )
    return registry_entry.entity_id


def add_bambu_printer(
    hass: HomeAssistant,
    serial: str = "01S00C123456789",
    model: str = "X1 Carbon",
    state: str = "idle",
) -> FakePrinter:
    """A Bambu Lab printer with an AMS (a via device that must not count as a printer)."""
    entry = _entry(hass, "bambu_lab")
    devices = dr.async_get(hass)
    printer = devices.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={("bambu_lab", serial)},
        manufacturer="Bambu Lab",
        model=model,
        name=f"My secret printer {serial}",
        serial_number=serial,
    )
    ams = devices.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={("bambu_lab", f"{serial}_AMS_1")},
        manufacturer="Bambu Lab",
        model="AMS",
        via_device_id=printer.id,
    )
    entity_id = _sensor(hass, entry, printer, f"{serial}_print_status", "print_status")
    # The AMS has sensors too, none of them a job state.
    _sensor(hass, entry, ams, f"{serial}_AMS_1_humidity", "humidity_index")
    _sensor(hass, entry, printer, f"{serial}_gcode_file", "gcode_file")
    hass.states.async_set(entity_id, state)
    return FakePrinter(entry, printer.id, entity_id)


def add_prusalink_printer(hass: HomeAssistant, state: str = "idle") -> FakePrinter:
    entry = _entry(hass, "prusalink")
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={("prusalink", entry.entry_id)},
        manufacturer="Prusa",
        name="Prusa MK4",
    )
    entity_id = _sensor(hass, entry, device, f"{entry.entry_id}_printer.state", "printer_state")
    hass.states.async_set(entity_id, state)
    return FakePrinter(entry, device.id, entity_id)


def add_octoprint_printer(hass: HomeAssistant, state: str = "operational") -> FakePrinter:
    entry = _entry(hass, "octoprint")
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={("octoprint", "uuid-of-octoprint")},
        manufacturer="OctoPrint",
        name="OctoPrint",
    )
    entity_id = _sensor(hass, entry, device, "Current State-uuid-of-octoprint", None)
    hass.states.async_set(entity_id, state)
    return FakePrinter(entry, device.id, entity_id)


def add_moonraker_printer(hass: HomeAssistant, state: str = "standby") -> FakePrinter:
    entry = _entry(hass, "moonraker")
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={("moonraker", entry.entry_id)},
        manufacturer="moonraker",
        model="moonraker",
        name="Voron",
    )
    entity_id = _sensor(hass, entry, device, f"{entry.entry_id}_print_state", None)
    # Klipper's own state sensor also ends in `_state` and must not be taken for the job state.
    _sensor(hass, entry, device, f"{entry.entry_id}_state", None)
    hass.states.async_set(entity_id, state)
    return FakePrinter(entry, device.id, entity_id)


def add_elegoo_printer(hass: HomeAssistant, state: str = "idle") -> FakePrinter:
    """An Elegoo Centauri Carbon 2 (elegoo-homeassistant: unique_id `<MainboardID>_<key>`)."""
    entry = _entry(hass, "elegoo_printer")
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={("elegoo_printer", "0123456789abcdef")},
        manufacturer="ELEGOO",
        model="Centauri Carbon 2",
        name="My CC2",
    )
    entity_id = _sensor(hass, entry, device, "0123456789abcdef_print_status", "print_status")
    hass.states.async_set(entity_id, state)
    return FakePrinter(entry, device.id, entity_id)
