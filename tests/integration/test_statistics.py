"""Home Assistant's REAL recorder compiles the long-term statistics of the weekly counters across the
Monday reset: the `sum` never goes down and ends at the total of both weeks."""

from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.core import Recorder
from homeassistant.components.recorder.statistics import validate_statistics
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
    statistics_during_period,
)
from pytest_homeassistant_custom_component.typing import RecorderInstanceContextManager

from .conftest import SetUpIntegration
from .helpers import refresh, sensor_entity_id
from .printers import FakePrinter, add_prusalink_printer
from .test_sensors import printer_entity_id

# Week N began on Monday 2030-12-30; week N+1 begins on Monday 2031-01-06 00:00 UTC.
SUNDAY_EVENING = datetime(2031, 1, 5, 21, 0, tzinfo=dt_util.UTC)
NEXT_MONDAY = datetime(2031, 1, 6, 0, 0, tzinfo=dt_util.UTC)


@pytest.fixture
async def mock_recorder_before_hass(
    async_test_recorder: RecorderInstanceContextManager,
) -> None:
    """Prepare the recorder's database before Home Assistant starts (as HA core's sensor tests do)."""


async def _compile(hass: HomeAssistant, freezer: FrozenDateTimeFactory, start: datetime) -> None:
    """Compile the 5-minute statistics of [start, start + 5 min) once that period is over."""
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    freezer.move_to(start + timedelta(minutes=5))
    do_adhoc_statistics(hass, start=start)
    await async_wait_recording_done(hass)


async def _job(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    printer: FakePrinter,
    start: datetime,
    minutes: int,
) -> None:
    freezer.move_to(start)
    printer.set_state(hass, "printing")
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=minutes))
    printer.set_state(hass, "finished")
    await hass.async_block_till_done()


def _sums(rows: list[dict[str, Any]]) -> list[float]:
    return [float(row["sum"]) for row in rows]


async def test_statistics_sum_never_goes_down_across_the_weekly_reset(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(SUNDAY_EVENING)
    prusa = add_prusalink_printer(hass)
    entry = await set_up_integration()
    await refresh(hass, entry)
    counters = {
        sensor_entity_id(hass, entry, "jobs_started"): 2.0,
        sensor_entity_id(hass, entry, "jobs_completed"): 2.0,
        sensor_entity_id(hass, entry, "print_hours"): 1.5,
        str(printer_entity_id(hass, entry, prusa, "jobs_completed")): 2.0,
        str(printer_entity_id(hass, entry, prusa, "print_hours")): 1.5,
    }
    await _compile(hass, freezer, SUNDAY_EVENING)  # the zero point

    # Week N: a one-hour job, completed.
    await _job(hass, freezer, prusa, SUNDAY_EVENING + timedelta(minutes=66), minutes=60)
    await refresh(hass, entry)
    await _compile(hass, freezer, SUNDAY_EVENING + timedelta(minutes=125))

    # Monday 00:00 UTC: the sensors refresh by themselves and every weekly counter drops to zero.
    freezer.move_to(NEXT_MONDAY + timedelta(seconds=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    state = hass.states.get(sensor_entity_id(hass, entry, "jobs_completed"))
    assert state is not None
    assert (state.state, state.attributes["last_reset"]) == ("0", NEXT_MONDAY.isoformat())
    await _compile(hass, freezer, NEXT_MONDAY)

    # Week N+1: a half-hour job, completed.
    await _job(hass, freezer, prusa, NEXT_MONDAY + timedelta(minutes=6), minutes=30)
    await refresh(hass, entry)
    await _compile(hass, freezer, NEXT_MONDAY + timedelta(minutes=35))

    statistics = await recorder_mock.async_add_executor_job(
        partial(
            statistics_during_period,
            hass,
            SUNDAY_EVENING - timedelta(hours=1),
            statistic_ids=set(counters),
            period="5minute",
            types={"sum", "state", "last_reset"},
        )
    )
    for entity_id, total in counters.items():
        sums = _sums(statistics[entity_id])
        assert len(sums) == 4, entity_id
        # Without `last_reset` the recorder reads the Monday drop as a decrease: [0, 1, 0, 1].
        assert sums == sorted(sums), (entity_id, sums)
        assert sums[-1] == pytest.approx(total), (entity_id, sums)
        assert statistics[entity_id][-1]["last_reset"] == NEXT_MONDAY.timestamp()

    issues = await recorder_mock.async_add_executor_job(validate_statistics, hass)
    assert not set(issues) & set(counters), issues
