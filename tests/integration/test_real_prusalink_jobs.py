"""Whole jobs on a Prusa printer, seen through Home Assistant's REAL `prusalink` integration.

The fake PrusaLink printer (tests/integration/fake_prusalink.py) serves `/api/v1/status`, `/api/v1/job`
and the rest behind digest auth; the real integration polls each endpoint every 30 s (its
coordinators' interval) and its printer-state sensor shows `printer.state` lower-cased (`PRINTING` →
`printing`), or `unavailable` while the printer cannot be reached. Printernizer Usage observes that
sensor. Each test holds the fake in states for whole polls and checks the engine's figures; print and
paused time within one poll interval of the simulated time.
"""

from collections.abc import AsyncIterator

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from .conftest import SetUpIntegration
from .fake_prusalink import FakePrusaLink
from .real_printers import (
    Drive,
    RealPrinter,
    figures,
    freeze_time,
    prusalink_printer,
    watched,
)

pytestmark = freeze_time


@pytest.fixture
async def prusalink(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncIterator[RealPrinter[FakePrusaLink]]:
    async with prusalink_printer(hass) as printer:
        yield printer


@pytest.fixture
async def drive(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    prusalink: RealPrinter[FakePrusaLink],
    set_up_integration: SetUpIntegration,
) -> Drive[FakePrusaLink]:
    usage = await set_up_integration()
    return Drive(hass, freezer, prusalink, usage)


async def test_real_integration_polls_the_fake_and_printernizer_finds_it(
    hass: HomeAssistant, drive: Drive[FakePrusaLink]
) -> None:
    printer = drive.printer
    assert printer.poll_interval.total_seconds() == 30
    assert {c.update_interval for c in printer.entry.runtime_data.values()} == {
        printer.poll_interval
    }
    assert printer.status(hass).state == "idle"
    found = watched(drive.usage, printer)
    assert (found.info.family, found.info.model) == ("prusa", "unknown")

    for served in ("PRINTING", "PAUSED", "ATTENTION", "BUSY", "FINISHED", "STOPPED", "ERROR"):
        drive.fake.set_state(served)
        await drive.hold(1)
        assert printer.status(hass).state == served.lower(), served
    drive.fake.set_state("READY")
    await drive.hold(1)
    assert printer.status(hass).state == "ready"
    await drive.fake.power_off()
    await drive.hold(1)
    assert printer.status(hass).state == "unavailable"
    await drive.fake.power_on()
    drive.fake.set_state("IDLE")
    await drive.hold(1)
    assert printer.status(hass).state == "idle"
    # Every poll read the status and the job (digest auth passed: no poll failed but the one above).
    assert drive.fake.paths().count("/api/v1/status") >= 10
    assert drive.fake.paths().count("/api/v1/job") >= 10


async def test_finish_with_the_finished_state_seen(drive: Drive[FakePrusaLink]) -> None:
    await drive.hold(2)
    for progress in (3.0, 20.0, 38.0, 55.0, 73.0, 91.0):
        drive.fake.set_state("PRINTING", progress=progress)
        await drive.hold(1)
    drive.fake.set_state("FINISHED", progress=100.0)
    await drive.hold(3)
    drive.fake.set_state("IDLE")  # the user confirmed on the printer
    await drive.hold(2)

    assert drive.shown() == ["idle", "printing", "finished", "idle"]
    await drive.expect(started=1, completed=1, print_seconds=drive.time_in("PRINTING"))


async def test_finish_without_the_finished_state_seen(drive: Drive[FakePrusaLink]) -> None:
    """PRINTING at 100 % at one poll, IDLE at the next (FINISHED was confirmed between polls)."""
    for progress in (5.0, 40.0, 75.0, 100.0):
        drive.fake.set_state("PRINTING", progress=progress)
        await drive.hold(1)
    drive.fake.set_state("IDLE")
    await drive.hold(3)

    assert drive.shown() == ["printing", "idle"]
    await drive.expect(started=1, completed=1, print_seconds=drive.time_in("PRINTING"))


async def test_cancel_is_stopped(drive: Drive[FakePrusaLink]) -> None:
    drive.fake.set_state("PRINTING", progress=10.0)
    await drive.hold(4)
    drive.fake.set_state("STOPPED", progress=31.0)
    await drive.hold(2)
    drive.fake.set_state("IDLE")
    await drive.hold(2)

    assert drive.shown() == ["printing", "stopped", "idle"]
    await drive.expect(started=1, cancelled=1, print_seconds=drive.time_in("PRINTING"))


async def test_back_to_idle_mid_print_ends_without_outcome(drive: Drive[FakePrusaLink]) -> None:
    """PRINTING at 40 %, then IDLE: nothing says whether it was stopped, failed or done."""
    drive.fake.set_state("PRINTING", progress=10.0)
    await drive.hold(2)
    drive.fake.set_progress(40.0)
    await drive.hold(2)
    drive.fake.set_state("IDLE")
    await drive.hold(2)

    assert drive.shown() == ["printing", "idle"]
    await drive.expect(started=1, ended_without_outcome=1, print_seconds=drive.time_in("PRINTING"))


async def test_printer_error_is_a_failed_job(drive: Drive[FakePrusaLink]) -> None:
    drive.fake.set_state("PRINTING", progress=10.0)
    await drive.hold(4)
    drive.fake.set_state("ERROR", progress=35.0)  # e.g. thermal runaway: the printer halts
    await drive.hold(3)
    drive.fake.set_state("IDLE")  # reset
    await drive.hold(2)

    assert drive.shown() == ["printing", "error", "idle"]
    await drive.expect(started=1, failed=1, print_seconds=drive.time_in("PRINTING"))


async def test_attention_before_a_job_is_not_a_job(drive: Drive[FakePrusaLink]) -> None:
    """The print preview asks a question (wrong filament, …): ATTENTION with the file selected; the
    user abandons it and the printer is IDLE again. Nothing was printed."""
    await drive.hold(2)
    drive.fake.set_state("ATTENTION", job=True)
    await drive.hold(3)
    drive.fake.set_state("IDLE")
    await drive.hold(3)

    assert drive.shown() == ["idle", "attention", "idle"]
    await drive.expect(started=0, print_seconds=0.0)


async def test_attention_during_a_job_stays_the_same_job(drive: Drive[FakePrusaLink]) -> None:
    """Filament runout mid-print: ATTENTION until the user loads filament, then PRINTING again."""
    drive.fake.set_state("PRINTING", progress=5.0)
    await drive.hold(3)
    drive.fake.set_state("ATTENTION", progress=48.0)
    await drive.hold(4)
    drive.fake.set_state("PRINTING")
    await drive.hold(3)
    drive.fake.set_state("FINISHED", progress=100.0)
    await drive.hold(2)

    assert drive.shown() == ["printing", "attention", "printing", "finished"]
    await drive.expect(
        started=1,
        completed=1,
        print_seconds=drive.time_in("PRINTING"),
        paused_seconds=drive.time_in("ATTENTION"),
    )


async def test_busy_while_idle_is_not_a_job(drive: Drive[FakePrusaLink]) -> None:
    """BUSY from IDLE (calibration, a move from the menu, a file being prepared): no job."""
    await drive.hold(1)
    drive.fake.set_state("BUSY")
    await drive.hold(4)
    drive.fake.set_state("IDLE")
    await drive.hold(2)

    assert drive.shown() == ["idle", "busy", "idle"]
    await drive.expect(started=0, print_seconds=0.0)


async def test_power_panic_recovery_stays_the_same_job(drive: Drive[FakePrusaLink]) -> None:
    """Power lost mid-print: the printer is unreachable for one poll, BUSY while it recovers
    (re-heating, homing), then PRINTING the same job to the end. One job, completed, never failed.
    The recovery is the job halted, not printing: paused time, like ATTENTION mid-job."""
    drive.fake.set_state("PRINTING", progress=5.0)
    await drive.hold(3)
    await drive.fake.power_off()
    await drive.hold(1)
    await drive.fake.power_on()
    drive.fake.set_state("BUSY")
    await drive.hold(2)
    drive.fake.set_state("PRINTING", progress=50.0)
    await drive.hold(3)
    drive.fake.set_state("FINISHED", progress=100.0)
    await drive.hold(2)

    assert drive.shown() == ["printing", "unavailable", "busy", "printing", "finished"]
    await drive.expect(
        started=1,
        completed=1,
        print_seconds=drive.time_in("PRINTING"),
        paused_seconds=drive.time_in("BUSY"),
    )


async def test_paused_time_is_paused_hours_not_print_hours(drive: Drive[FakePrusaLink]) -> None:
    drive.fake.set_state("PRINTING", progress=5.0)
    await drive.hold(4)
    drive.fake.set_state("PAUSED", progress=30.0)
    await drive.hold(6)
    drive.fake.set_state("PRINTING")
    await drive.hold(3)
    drive.fake.set_state("FINISHED", progress=100.0)
    await drive.hold(2)

    assert drive.time_in("PAUSED") == 180
    await drive.expect(
        started=1,
        completed=1,
        print_seconds=drive.time_in("PRINTING"),
        paused_seconds=drive.time_in("PAUSED"),
    )


async def test_restart_mid_job_counts_it_once(drive: Drive[FakePrusaLink]) -> None:
    drive.fake.set_state("PRINTING", progress=5.0)
    await drive.hold(3)
    await drive.restart_usage()
    drive.fake.set_progress(50.0)
    await drive.hold(3)
    drive.fake.set_state("FINISHED", progress=100.0)
    await drive.hold(2)

    await drive.expect(started=1, completed=1, print_seconds=drive.time_in("PRINTING"))


async def test_print_time_while_home_assistant_was_down_is_not_lost(
    drive: Drive[FakePrusaLink],
) -> None:
    """Printernizer Usage is down for 90 s (three polls) while the printer goes on printing."""
    drive.fake.set_state("PRINTING", progress=5.0)
    await drive.hold(3)
    await drive.restart_usage(polls_down=3)
    drive.fake.set_progress(50.0)
    await drive.hold(3)
    drive.fake.set_state("FINISHED", progress=100.0)
    await drive.hold(2)

    assert drive.time_in("PRINTING") == 9 * 30
    await drive.expect(started=1, completed=1, print_seconds=drive.time_in("PRINTING"))


async def test_no_print_time_while_idle_or_finished(drive: Drive[FakePrusaLink]) -> None:
    """IDLE for 10 minutes; then a job whose FINISHED screen nobody confirms for 20 minutes."""
    await drive.hold(20)
    await drive.expect(started=0, print_seconds=0.0)

    drive.fake.set_state("PRINTING", progress=5.0)
    await drive.hold(4)
    drive.fake.set_state("FINISHED", progress=100.0)
    await drive.hold(1)
    after_job = await figures(drive.usage)

    await drive.hold(40)
    finished = await drive.expect(started=1, completed=1, print_seconds=drive.time_in("PRINTING"))
    assert finished.print_seconds == after_job.print_seconds
    assert finished.paused_seconds == after_job.paused_seconds
