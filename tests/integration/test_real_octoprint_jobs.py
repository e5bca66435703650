"""Whole jobs on an OctoPrint printer, seen through Home Assistant's REAL `octoprint` integration.

The fake OctoPrint (tests/integration/fake_octoprint.py) serves `/api/printer` and `/api/job` over HTTP;
the real integration polls it every 30 s (its coordinator's interval) and its "Current State" sensor
shows the state text as an enum value (`Printing` → `printing`, `Sending file to SD` →
`printing_streaming`, …), or `unavailable` while `/api/printer` answers 409. Printernizer Usage
observes that sensor. Each test holds the fake in states for whole polls and checks the engine's
figures; print and paused time within one poll interval of the simulated time.
"""

from collections.abc import AsyncIterator

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from .conftest import SetUpIntegration
from .fake_octoprint import FakeOctoPrint
from .real_printers import (
    Drive,
    RealPrinter,
    figures,
    freeze_time,
    octoprint_printer,
    start_entry,
    stop_entry,
    watched,
)

pytestmark = freeze_time

# Served states in which the printer is running the job (print time).
RUNNING = ("Printing", "Printing from SD", "Resuming", "Finishing", "Cancelling")


@pytest.fixture
async def octoprint(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncIterator[RealPrinter[FakeOctoPrint]]:
    async with octoprint_printer(hass) as printer:
        yield printer


@pytest.fixture
async def drive(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    octoprint: RealPrinter[FakeOctoPrint],
    set_up_integration: SetUpIntegration,
) -> Drive[FakeOctoPrint]:
    usage = await set_up_integration()
    return Drive(hass, freezer, octoprint, usage)


async def test_real_integration_polls_the_fake_and_printernizer_finds_it(
    hass: HomeAssistant, drive: Drive[FakeOctoPrint]
) -> None:
    printer = drive.printer
    assert printer.poll_interval.total_seconds() == 30
    assert printer.status(hass).state == "operational"
    found = watched(drive.usage, printer)
    assert (found.info.family, found.info.model) == ("octoprint", "unknown")

    served_and_shown = [
        ("Printing", "printing"),
        ("Pausing", "pausing"),
        ("Paused", "paused"),
        ("Resuming", "resuming"),
        ("Cancelling", "cancelling"),
        ("Operational", "operational"),
        ("Printing from SD", "printing_sd"),
        ("Finishing", "finishing"),
        ("Sending file to SD", "printing_streaming"),
        ("Transferring file to SD", "transferring_file"),
        ("Starting", "starting"),
    ]
    for served, shown in served_and_shown:
        drive.fake.set_state(served)
        await drive.hold(1)
        assert printer.status(hass).state == shown, served
    drive.fake.make_not_operational()
    await drive.hold(1)
    assert printer.status(hass).state == "unavailable"
    await drive.fake.power_off()
    await drive.hold(1)
    assert printer.status(hass).state == "unavailable"
    await drive.fake.power_on()
    drive.fake.set_state("Operational")
    await drive.hold(1)
    assert printer.status(hass).state == "operational"
    # Both endpoints were read at every poll, with the API key.
    assert drive.fake.paths().count("/api/printer") >= len(served_and_shown) + 3


async def test_printer_integration_set_up_after_printernizer_is_found(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    socket_enabled: None,
    set_up_integration: SetUpIntegration,
) -> None:
    usage = await set_up_integration()
    async with octoprint_printer(hass) as printer:
        watched(usage, printer)
        drive = Drive(hass, freezer, printer, usage)
        drive.fake.set_state("Printing", progress=10.0)
        await drive.hold(4)
        drive.fake.set_state("Finishing", progress=100.0)
        await drive.hold(1)
        drive.fake.set_state("Operational")
        await drive.hold(2)
        await drive.expect(started=1, completed=1, print_seconds=drive.time_in(*RUNNING))


async def test_finish_with_the_finishing_state_seen(drive: Drive[FakeOctoPrint]) -> None:
    await drive.hold(2)
    for progress in (2.0, 18.0, 35.0, 52.0, 70.0, 88.0):
        drive.fake.set_state("Printing", progress=progress)
        await drive.hold(1)
    drive.fake.set_state("Finishing", progress=100.0)
    await drive.hold(1)
    drive.fake.set_state("Operational")
    await drive.hold(3)

    assert drive.shown() == ["operational", "printing", "finishing", "operational"]
    await drive.expect(started=1, completed=1, print_seconds=drive.time_in(*RUNNING))


async def test_finish_without_the_finishing_state_seen(drive: Drive[FakeOctoPrint]) -> None:
    """Printing at 100 % at one poll, Operational at the next (Finishing came and went between)."""
    for progress in (5.0, 30.0, 55.0, 80.0, 100.0):
        drive.fake.set_state("Printing", progress=progress)
        await drive.hold(1)
    drive.fake.set_state("Operational")  # OctoPrint keeps the finished job: completion 100
    await drive.hold(3)

    assert drive.shown() == ["printing", "operational"]
    await drive.expect(started=1, completed=1, print_seconds=drive.time_in(*RUNNING))


async def test_cancel_with_the_cancelling_state_seen(drive: Drive[FakeOctoPrint]) -> None:
    drive.fake.set_state("Printing", progress=10.0)
    await drive.hold(3)
    drive.fake.set_state("Cancelling", progress=24.0)
    await drive.hold(1)
    drive.fake.set_state("Operational")
    await drive.hold(2)

    assert drive.shown() == ["printing", "cancelling", "operational"]
    await drive.expect(started=1, cancelled=1, print_seconds=drive.time_in(*RUNNING))


async def test_back_to_operational_mid_print_ends_without_outcome(
    drive: Drive[FakeOctoPrint],
) -> None:
    """Printing at 40 %, then Operational: nothing says whether it was cancelled, failed or done."""
    drive.fake.set_state("Printing", progress=12.0)
    await drive.hold(2)
    drive.fake.set_progress(40.0)
    await drive.hold(2)
    drive.fake.set_state("Operational")
    await drive.hold(2)

    assert drive.shown() == ["printing", "operational"]
    await drive.expect(started=1, ended_without_outcome=1, print_seconds=drive.time_in(*RUNNING))


async def test_printer_error_is_a_failed_job(drive: Drive[FakeOctoPrint]) -> None:
    """The printer errors out mid-print: OctoPrint answers `/api/printer` with 409 ("Printer is not
    operational"), the status entity is unavailable for 90 s, then the printer is reconnected."""
    drive.fake.set_state("Printing", progress=10.0)
    await drive.hold(4)
    drive.fake.make_not_operational("Offline after error")
    await drive.hold(3)
    assert drive.printer.status(drive.hass).state == "unavailable"
    drive.fake.set_state("Operational")
    await drive.hold(2)

    assert drive.shown() == ["printing", "unavailable", "operational"]
    await drive.expect(started=1, failed=1, print_seconds=drive.time_in(*RUNNING))


async def test_short_loss_of_contact_keeps_the_job(drive: Drive[FakeOctoPrint]) -> None:
    """OctoPrint unreachable for one poll (a network blip), still printing afterwards: one job."""
    drive.fake.set_state("Printing", progress=10.0)
    await drive.hold(3)
    await drive.fake.power_off()
    await drive.hold(1)
    await drive.fake.power_on()
    drive.fake.set_progress(60.0)
    await drive.hold(3)
    drive.fake.set_state("Finishing", progress=100.0)
    await drive.hold(1)
    drive.fake.set_state("Operational")
    await drive.hold(1)

    assert drive.shown() == ["printing", "unavailable", "printing", "finishing", "operational"]
    await drive.expect(
        started=1,
        completed=1,
        print_seconds=drive.time_in(*RUNNING, "powered off"),
    )


async def test_uploading_to_the_sd_card_is_not_a_job(drive: Drive[FakeOctoPrint]) -> None:
    """`Sending file to SD` is OctoPrint streaming a file to the printer's card (its PRINTING state
    while streaming; HA shows `printing_streaming`): no print, no job."""
    drive.fake.set_state("Starting to send file to SD", origin="local")
    await drive.hold(1)
    drive.fake.set_state("Sending file to SD", progress=20.0)
    await drive.hold(2)
    drive.fake.set_progress(90.0)
    await drive.hold(2)
    drive.fake.set_state("Transferring file to SD")
    await drive.hold(1)
    drive.fake.set_state("Operational")
    await drive.hold(2)

    assert drive.shown() == [
        "starting_streaming",
        "printing_streaming",
        "transferring_file",
        "operational",
    ]
    await drive.expect(started=0, print_seconds=0.0)


async def test_paused_time_is_paused_hours_not_print_hours(drive: Drive[FakeOctoPrint]) -> None:
    drive.fake.set_state("Printing", progress=5.0)
    await drive.hold(4)
    drive.fake.set_state("Pausing", progress=30.0)
    await drive.hold(1)
    drive.fake.set_state("Paused")
    await drive.hold(6)
    drive.fake.set_state("Resuming")
    await drive.hold(1)
    drive.fake.set_state("Printing", progress=60.0)
    await drive.hold(3)
    drive.fake.set_state("Finishing", progress=100.0)
    await drive.hold(1)
    drive.fake.set_state("Operational")
    await drive.hold(2)

    assert drive.time_in("Pausing", "Paused") == 210
    await drive.expect(
        started=1,
        completed=1,
        print_seconds=drive.time_in(*RUNNING),
        paused_seconds=drive.time_in("Pausing", "Paused"),
    )


async def test_restart_mid_job_counts_it_once(drive: Drive[FakeOctoPrint]) -> None:
    """Printernizer Usage is stopped and started again while the printer prints: the same job."""
    drive.fake.set_state("Printing", progress=5.0)
    await drive.hold(3)
    await drive.restart_usage()
    drive.fake.set_progress(50.0)
    await drive.hold(3)
    drive.fake.set_state("Finishing", progress=100.0)
    await drive.hold(1)
    drive.fake.set_state("Operational")
    await drive.hold(2)

    await drive.expect(started=1, completed=1, print_seconds=drive.time_in(*RUNNING))


async def test_print_time_while_home_assistant_was_down_is_not_lost(
    drive: Drive[FakeOctoPrint],
) -> None:
    """Printernizer Usage is down for 90 s (three polls) while the printer goes on printing: the job
    is counted once and its print time covers the whole print."""
    drive.fake.set_state("Printing", progress=5.0)
    await drive.hold(3)
    await drive.restart_usage(polls_down=3)
    drive.fake.set_progress(50.0)
    await drive.hold(3)
    drive.fake.set_state("Finishing", progress=100.0)
    await drive.hold(1)
    drive.fake.set_state("Operational")
    await drive.hold(2)

    assert drive.time_in(*RUNNING) == 10 * 30
    await drive.expect(started=1, completed=1, print_seconds=drive.time_in(*RUNNING))


async def test_home_assistant_restart_with_the_printer_integration(
    drive: Drive[FakeOctoPrint],
) -> None:
    """Both entries stop (the OctoPrint one too, as in a real restart) and start again in the other
    order, Printernizer Usage first: the printer's entity passes through `unavailable`/absent."""
    hass = drive.hass
    drive.fake.set_state("Printing", progress=5.0)
    await drive.hold(3)
    await stop_entry(hass, drive.printer.entry)
    await stop_entry(hass, drive.usage)
    await drive.hold(1, note="both entries stopped")  # the printer goes on printing
    await start_entry(hass, drive.usage)
    drive.look("Printernizer Usage started, OctoPrint not yet")
    await start_entry(hass, drive.printer.entry)
    drive.look("OctoPrint started")
    assert drive.printer.status(hass).state == "printing"
    watched(drive.usage, drive.printer)
    drive.fake.set_progress(60.0)
    await drive.hold(3)
    drive.fake.set_state("Finishing", progress=100.0)
    await drive.hold(1)
    drive.fake.set_state("Operational")
    await drive.hold(2)

    await drive.expect(started=1, completed=1, print_seconds=drive.time_in(*RUNNING))


async def test_no_print_time_while_idle(drive: Drive[FakeOctoPrint]) -> None:
    await drive.hold(20)
    before = await drive.expect(started=0, print_seconds=0.0)
    assert before.print_seconds == 0

    drive.fake.set_state("Printing", progress=5.0)
    await drive.hold(4)
    drive.fake.set_state("Finishing", progress=100.0)
    await drive.hold(1)
    drive.fake.set_state("Operational")
    await drive.hold(1)
    after_job = await figures(drive.usage)

    await drive.hold(40)  # 20 minutes idle, the finished job still selected in OctoPrint
    idle = await drive.expect(started=1, completed=1, print_seconds=drive.time_in(*RUNNING))
    assert idle.print_seconds == after_job.print_seconds
    assert idle.paused_seconds == after_job.paused_seconds
