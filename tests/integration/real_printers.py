"""Harness for tests that run Home Assistant's REAL `octoprint` and `prusalink` integrations against
fake printers served over HTTP on 127.0.0.1, with Printernizer Usage set up beside them.

The real integrations are set up through their own config flows (so their entries hold exactly what a
user's would), poll the fakes with their own client libraries, and create their real devices and
status sensors; our integration finds them in the registries like any other printer. Time moves with
`advance_poll`: the frozen clock (pytest-freezer, see `FROZEN_AT`) advances by the integration's own
poll interval, read from its coordinator, and the timers that are due fire.
"""

from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import (
    CONF_API_KEY,
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PATH,
    CONF_PORT,
    CONF_SSL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.printernizer_usage.engine.aggregate import WeekAggregate
from custom_components.printernizer_usage.fleet import WatchedPrinter

from .fake_http import FakeHttpDevice
from .fake_octoprint import FakeOctoPrint
from .fake_prusalink import FakePrusaLink

# A Wednesday morning: every test's simulated hours stay inside one ISO week.
FROZEN_AT = "2026-11-18T09:00:00+00:00"
freeze_time = pytest.mark.freeze_time(FROZEN_AT)


@dataclass
class RealPrinter[F: FakeHttpDevice]:
    """A fake printer and the real integration's config entry polling it."""

    fake: F
    entry: ConfigEntry[Any]
    device_id: str
    status_entity_id: str
    _interval: timedelta | None = None

    @property
    def coordinator(self) -> DataUpdateCoordinator[Any]:
        """The coordinator whose poll updates the status entity."""
        runtime = self.entry.runtime_data
        if isinstance(runtime, dict):  # PrusaLink: one coordinator per endpoint
            coordinator: DataUpdateCoordinator[Any] = runtime["status"]
            return coordinator
        assert isinstance(runtime, DataUpdateCoordinator)
        return runtime

    @property
    def poll_interval(self) -> timedelta:
        """The integration's own poll interval (its coordinator's, as it was when last read while the
        entry was loaded), not a guess."""
        if self.entry.state is ConfigEntryState.LOADED:
            self._interval = self.coordinator.update_interval
        assert self._interval is not None
        return self._interval

    def status(self, hass: HomeAssistant) -> State:
        state = hass.states.get(self.status_entity_id)
        assert state is not None, self.status_entity_id
        return state


async def advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, interval: timedelta, polls: int = 1
) -> None:
    """Move the clock by `interval`, `polls` times, firing what is due after each step and waiting
    for what that started: the coordinators poll in background tasks, over real HTTP."""
    for _ in range(polls):
        freezer.tick(interval)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


async def advance_poll(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    printer: RealPrinter[Any],
    polls: int = 1,
) -> None:
    """Let `polls` of the printer integration's polls happen (each one poll interval later)."""
    await advance(hass, freezer, printer.poll_interval, polls)


# --- the real integrations ----------------------------------------------------------------------


async def _create_through_flow(
    hass: HomeAssistant, domain: str, user_input: dict[str, Any]
) -> ConfigEntry[Any]:
    result = await hass.config_entries.flow.async_init(
        domain, context={"source": SOURCE_USER}, data=user_input
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry = result["result"]
    assert isinstance(entry, ConfigEntry)
    assert entry.state is ConfigEntryState.LOADED, entry.state
    return entry


def _status_entity(hass: HomeAssistant, platform: str, unique_id: str) -> tuple[str, str]:
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("sensor", platform, unique_id)
    assert entity_id is not None, unique_id
    registry_entry = registry.async_get(entity_id)
    assert registry_entry is not None
    assert registry_entry.device_id is not None
    return entity_id, registry_entry.device_id


async def set_up_octoprint(hass: HomeAssistant, fake: FakeOctoPrint) -> RealPrinter[FakeOctoPrint]:
    """The user step of the real config flow with an API key already known (what the flow stores
    once the app-key dance is done): it reads `/api/settings` for the UPnP UUID, then sets up."""
    entry = await _create_through_flow(
        hass,
        "octoprint",
        {
            CONF_USERNAME: "maker",
            CONF_HOST: "127.0.0.1",
            CONF_PORT: fake.port,
            CONF_PATH: "/",
            CONF_SSL: False,
            CONF_VERIFY_SSL: True,
            CONF_API_KEY: fake.api_key,
        },
    )
    assert entry.unique_id == fake.upnp_uuid
    entity_id, device_id = _status_entity(hass, "octoprint", f"Current State-{fake.upnp_uuid}")
    return RealPrinter(fake, entry, device_id, entity_id)


@asynccontextmanager
async def octoprint_printer(hass: HomeAssistant) -> AsyncIterator[RealPrinter[FakeOctoPrint]]:
    """A fake OctoPrint on 127.0.0.1 and the real `octoprint` entry polling it (needs sockets)."""
    fake = FakeOctoPrint()
    await fake.start()
    try:
        yield await set_up_octoprint(hass, fake)
    finally:
        await fake.stop()


@asynccontextmanager
async def prusalink_printer(hass: HomeAssistant) -> AsyncIterator[RealPrinter[FakePrusaLink]]:
    """A fake PrusaLink printer on 127.0.0.1 and the real `prusalink` entry polling it."""
    fake = FakePrusaLink()
    await fake.start()
    try:
        yield await set_up_prusalink(hass, fake)
    finally:
        await fake.stop()


async def set_up_prusalink(hass: HomeAssistant, fake: FakePrusaLink) -> RealPrinter[FakePrusaLink]:
    """The real config flow (`/api/version` with digest auth), then the set-up of its entry."""
    entry = await _create_through_flow(
        hass,
        "prusalink",
        {CONF_HOST: fake.url, CONF_USERNAME: fake.username, CONF_PASSWORD: fake.password},
    )
    entity_id, device_id = _status_entity(hass, "prusalink", f"{entry.entry_id}_printer.state")
    return RealPrinter(fake, entry, device_id, entity_id)


# --- Printernizer Usage -------------------------------------------------------------------------


def watched(usage_entry: MockConfigEntry, printer: RealPrinter[Any]) -> WatchedPrinter:
    """Our integration's view of the printer (it must have found it)."""
    printers: dict[str, WatchedPrinter] = usage_entry.runtime_data.fleet.printers
    assert printer.device_id in printers, "the printer was not found by Printernizer Usage"
    found = printers[printer.device_id]
    assert found.job_state_entity_id == printer.status_entity_id
    return found


async def figures(usage_entry: MockConfigEntry) -> WeekAggregate:
    """The engine's figures for the current ISO week so far (everything buffered written first)."""
    aggregate: WeekAggregate = await usage_entry.runtime_data.engine.aggregate(
        dt_util.parse_datetime(FROZEN_AT) or datetime.now(dt_util.UTC)
    )
    return aggregate


async def stop_entry(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    """Unload a config entry (Printernizer Usage: its store is closed, everything buffered written)."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def start_entry(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


# --- driving a printer through jobs -------------------------------------------------------------


@dataclass
class Drive[F: FakeHttpDevice]:
    """Holds the fake printer in states for whole polls and keeps the books: how long each served
    state lasted (`seconds`) and what Home Assistant's status entity showed after each poll (`seen`)."""

    hass: HomeAssistant
    freezer: FrozenDateTimeFactory
    printer: RealPrinter[F]
    usage: MockConfigEntry
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    seen: list[tuple[str, str]] = field(default_factory=list)  # (served, shown) per poll

    @property
    def fake(self) -> F:
        return self.printer.fake

    @property
    def poll_seconds(self) -> float:
        return self.printer.poll_interval.total_seconds()

    async def hold(self, polls: int, *, note: str | None = None) -> None:
        """Let `polls` polls pass with the fake as it is now (`note`: what `seen` records instead of
        the status entity, e.g. while an entry is stopped)."""
        interval = self.printer.poll_interval
        for _ in range(polls):
            await advance(self.hass, self.freezer, interval)
            self.seconds[self.fake.state_label] += interval.total_seconds()
            self.look(note)

    def look(self, note: str | None = None) -> None:
        """Record what the status entity shows now."""
        state = self.hass.states.get(self.printer.status_entity_id)
        shown = "absent" if state is None else state.state
        self.seen.append((self.fake.state_label, shown if note is None else f"{shown} ({note})"))

    def time_in(self, *labels: str) -> float:
        """Simulated seconds spent in the given served states."""
        return sum(self.seconds[label] for label in labels)

    def shown(self) -> list[str]:
        """The status entity's successive values (repeats collapsed)."""
        values: list[str] = []
        for _, shown in self.seen:
            if not values or values[-1] != shown:
                values.append(shown)
        return values

    def story(self) -> str:
        """The served states and what Home Assistant showed, e.g. `Printing→printing x6, …`."""
        runs: list[list[Any]] = []
        for pair in self.seen:
            if runs and runs[-1][0] == pair:
                runs[-1][1] += 1
            else:
                runs.append([pair, 1])
        return ", ".join(f"{served}→{shown} x{count}" for (served, shown), count in runs)

    async def figures(self) -> WeekAggregate:
        return await figures(self.usage)

    async def restart_usage(self, *, polls_down: int = 0) -> None:
        """Printernizer Usage stops, `polls_down` polls pass (the printer goes on), it starts again."""
        await stop_entry(self.hass, self.usage)
        await self.hold(polls_down, note="Printernizer Usage stopped")
        await start_entry(self.hass, self.usage)

    async def expect(
        self,
        *,
        started: int,
        completed: int = 0,
        failed: int = 0,
        cancelled: int = 0,
        ended_without_outcome: int = 0,
        print_seconds: float,
        paused_seconds: float = 0.0,
    ) -> WeekAggregate:
        """Compare the engine's figures with the expected ones (times within one poll interval) and
        fail with every difference, the figures and the state sequence."""
        aggregate = await self.figures()
        tolerance = self.poll_seconds
        counts = {
            "jobs_started": started,
            "jobs_completed": completed,
            "jobs_failed": failed,
            "jobs_cancelled": cancelled,
            "jobs_ended_without_outcome": ended_without_outcome,
        }
        times = {"print_seconds": print_seconds, "paused_seconds": paused_seconds}
        problems: list[str] = []
        actual: dict[str, object] = {}
        for name, wanted in counts.items():
            actual[name] = value = getattr(aggregate, name, "<missing>")
            if value != wanted:
                problems.append(f"{name} = {value}, expected {wanted}")
        for name, wanted_seconds in times.items():
            actual[name] = value = getattr(aggregate, name, "<missing>")
            if not isinstance(value, float | int) or abs(value - wanted_seconds) > tolerance:
                problems.append(f"{name} = {value}, expected {wanted_seconds} ± {tolerance:g}")
        assert not problems, (
            "; ".join(problems) + f"\n  figures: {actual}\n  served→shown per poll: {self.story()}"
        )
        return aggregate
