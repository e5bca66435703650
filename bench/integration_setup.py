"""Set-up time of the integration in a real Home Assistant core (outside pytest), and the cost on the
event loop of one printer state change handled by the Home Assistant layer.

Each run starts a fresh `HomeAssistant` on a temporary configuration directory (real registries, real
Stores on disk), loads the base functionality the way `homeassistant.bootstrap` does, registers 20 fake
printers in the device and entity registries, copies in a database holding a simulated year of data, and
times `hass.config_entries.async_setup` of the integration's config entry.

Then, in the last run, a burst of printer state changes: the cost of `hass.states.async_set` (Home
Assistant's state machine and bus plus the integration's listener) and of the integration's listener
alone (fleet listener -> deferred observation -> tracker -> engine.record).

Run: `.venv/bin/python -m bench.integration_setup`.
"""

import asyncio
import logging
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from homeassistant import bootstrap, loader
from homeassistant.config_entries import SOURCE_USER, ConfigEntries, ConfigEntry
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component

from bench.integration_year import DAYS, MODELS, PRINTERS, START, SimulatedClock, day_of_events
from custom_components.printernizer_usage.const import (
    CONF_RAW_RETENTION_DAYS,
    CONF_RECEIVER_URL,
    CONF_ROTATE_YEARLY,
    CONF_SHARING_ENABLED,
    CONF_SUBMIT_KEY,
    DATABASE_FILENAME,
    DOMAIN,
)
from custom_components.printernizer_usage.engine.engine import UsageEngine
from custom_components.printernizer_usage.engine.models import FleetSnapshot, PrinterInfo

RUNS = 8
BURST = 5000
TARGET_SETUP_MS = 100.0
TARGET_STATE_CHANGE_P99_US = 50.0
BAMBU_MODELS = {"X1C": "X1 Carbon", "P1S": "P1S", "A1": "A1"}


async def write_year_database(path: Path) -> int:
    """A database with one simulated year of a 20-printer farm; returns the number of events."""
    rng = random.Random(46)
    clock = SimulatedClock(START)
    engine = await UsageEngine.open(path, clock=clock)
    engine.update_fleet(
        FleetSnapshot(
            {f"printer-{n:02d}": PrinterInfo(*MODELS[n % len(MODELS)]) for n in range(PRINTERS)}
        )
    )
    total = 0
    for day in range(DAYS):
        day_start = (START + timedelta(days=day)).timestamp()
        events = sorted(
            (e for p in range(PRINTERS) for e in day_of_events(rng, day_start, p)),
            key=lambda e: e.timestamp,
        )
        for event in events:
            engine.record(event)
        total += len(events)
        clock.now = datetime.fromtimestamp(day_start + 86_400, UTC)
        await engine.flush()
        await engine.heartbeat()
    await engine.close()
    return total


def _config_entry(domain: str, entry_id: str, **values: Any) -> ConfigEntry:
    return ConfigEntry(
        data=values.get("data", {}),
        discovery_keys=MappingProxyType({}),
        domain=domain,
        entry_id=entry_id,
        minor_version=1,
        options=values.get("options", {}),
        source=SOURCE_USER,
        subentries_data=None,
        title=domain,
        unique_id=None,
        version=1,
    )


def _add_entry(hass: HomeAssistant, entry: ConfigEntry) -> None:
    # As pytest-homeassistant-custom-component's MockConfigEntry.add_to_hass does: known to Home
    # Assistant, but the printer integrations themselves are never set up.
    hass.config_entries._entries[entry.entry_id] = entry


def add_printers(hass: HomeAssistant) -> list[str]:
    """20 printers of the real printer integrations in the registries; returns their job-state
    entity ids (each with a state)."""
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    job_states: list[str] = []
    for n in range(PRINTERS):
        family, model = MODELS[n % len(MODELS)]
        platform = (
            "bambu_lab"
            if family == "bambu_lab"
            else {"prusa": "prusalink"}.get(family, "moonraker")
        )
        entry = _config_entry(platform, f"printer-entry-{n:02d}")
        _add_entry(hass, entry)
        device = devices.async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={(platform, f"serial-{n:02d}")},
            manufacturer=platform,
            model=BAMBU_MODELS.get(model, model),
            name=f"Printer {n}",
        )
        unique_id, translation_key = {
            "bambu_lab": (f"serial-{n:02d}_print_status", "print_status"),
            "prusalink": (f"{entry.entry_id}_printer.state", "printer_state"),
            "moonraker": (f"{entry.entry_id}_print_state", None),
        }[platform]
        registered = entities.async_get_or_create(
            "sensor",
            platform,
            unique_id,
            config_entry=entry,
            device_id=device.id,
            translation_key=translation_key,
        )
        hass.states.async_set(registered.entity_id, idle_state(platform))
        job_states.append(registered.entity_id)
    return job_states


def idle_state(platform: str) -> str:
    return {"bambu_lab": "idle", "prusalink": "idle", "moonraker": "standby"}[platform]


def printing_state(platform: str) -> str:
    return {"bambu_lab": "running", "prusalink": "printing", "moonraker": "printing"}[platform]


def done_state(platform: str) -> str:
    return {"bambu_lab": "finish", "prusalink": "finished", "moonraker": "complete"}[platform]


async def start_home_assistant(config_dir: Path) -> HomeAssistant:
    """A Home Assistant core with its registries loaded from `config_dir`, running, nothing set up."""
    hass = HomeAssistant(str(config_dir))
    hass.config.skip_pip = True
    hass.config_entries = ConfigEntries(hass, {})
    loader.async_setup(hass)
    assert await bootstrap.async_load_base_functionality(hass)
    # Loaded by bootstrap before any integration; the shared HTTP session exists in every real
    # installation long before this integration is set up (it needs `network` for its resolver).
    assert await async_setup_component(hass, "network", {})
    async_get_clientsession(hass)
    await hass.async_start()
    return hass


async def one_run(year_db: Path, *, burst: bool) -> tuple[float, list[float], list[float]]:
    """One start: the set-up time in ms, and with `burst` the per-change costs in µs (whole
    `async_set`, integration listener alone)."""
    with tempfile.TemporaryDirectory() as directory:
        config_dir = Path(directory)
        shutil.copyfile(year_db, config_dir / DATABASE_FILENAME)
        hass = await start_home_assistant(config_dir)
        try:
            job_states = add_printers(hass)
            entry = _config_entry(
                DOMAIN,
                "printernizer-usage-entry",
                data={
                    CONF_RECEIVER_URL: "http://127.0.0.1:9",
                    CONF_SUBMIT_KEY: "bench-submit-key",
                },
                options={
                    CONF_SHARING_ENABLED: False,
                    CONF_RAW_RETENTION_DAYS: 90,
                    CONF_ROTATE_YEARLY: False,
                },
            )
            _add_entry(hass, entry)
            began = time.perf_counter()
            assert await hass.config_entries.async_setup(entry.entry_id)
            setup_ms = (time.perf_counter() - began) * 1000
            await hass.async_block_till_done()
            watched = len(entry.runtime_data.fleet.printers)
            assert watched == PRINTERS, watched
            whole: list[float] = []
            listener: list[float] = []
            if burst:
                whole, listener = await state_change_burst(hass, entry, job_states)
            assert await hass.config_entries.async_unload(entry.entry_id)
        finally:
            await hass.async_stop()
        return setup_ms, whole, listener


async def state_change_burst(
    hass: HomeAssistant, entry: ConfigEntry, job_states: list[str]
) -> tuple[list[float], list[float]]:
    """`BURST` state changes cycling idle -> printing -> done over the printers, without yielding to
    the loop in between (a burst). Returns µs per change: whole `async_set`, listener alone."""
    fleet = entry.runtime_data.fleet
    listener_ns: list[int] = []
    original: Callable[[Event[EventStateChangedData]], None] = fleet._async_state_changed

    def timed(event: Event[EventStateChangedData]) -> None:
        before = time.perf_counter_ns()
        original(event)
        listener_ns.append(time.perf_counter_ns() - before)

    original_observe = fleet._observe

    def timed_observe(watched: Any, now: float, overwritten: Iterable[State] = ()) -> None:
        # The listener only marks the printer; the tracker runs once its integration wrote every
        # entity (call_soon): that deferred work is part of the cost of a change.
        before = time.perf_counter_ns()
        original_observe(watched, now, overwritten)
        listener_ns[-1] += time.perf_counter_ns() - before

    fleet._async_state_changed = timed
    fleet._observe = timed_observe
    fleet.async_rescan()  # re-subscribe with the timed listener
    platforms = [er.async_get(hass).async_get(entity_id) for entity_id in job_states]
    cycle = [idle_state, printing_state, done_state]
    whole_ns: list[int] = []
    for step in range(BURST):
        index = step % len(job_states)
        registry_entry = platforms[index]
        assert registry_entry is not None
        value = cycle[(step // len(job_states)) % 3](registry_entry.platform)
        before = time.perf_counter_ns()
        hass.states.async_set(job_states[index], value)
        whole_ns.append(time.perf_counter_ns() - before)
        await asyncio.sleep(0)  # let the deferred observation of this change run
    await hass.async_block_till_done()
    await entry.runtime_data.engine.flush()
    return [ns / 1000 for ns in whole_ns], [ns / 1000 for ns in listener_ns]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def main() -> None:
    # Several Home Assistant instances in one process: zeroconf warns about every instance after the
    # first, and the loader about the custom integration; neither matters for the measurement.
    logging.getLogger("homeassistant.components.zeroconf").setLevel(logging.CRITICAL)
    logging.getLogger("homeassistant.helpers.frame").setLevel(logging.CRITICAL)
    logging.getLogger("homeassistant.loader").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as directory:
        year_db = Path(directory) / DATABASE_FILENAME
        began = time.perf_counter()
        events = await write_year_database(year_db)
        print(
            f"year database: {events:,} events, {year_db.stat().st_size / 1_000_000:.2f} MB "
            f"(written in {time.perf_counter() - began:.1f} s)"
        )
        setups: list[float] = []
        whole: list[float] = []
        listener: list[float] = []
        for run in range(RUNS):
            setup_ms, run_whole, run_listener = await one_run(year_db, burst=run == RUNS - 1)
            setups.append(setup_ms)
            whole += run_whole
            listener += run_listener

    warm = setups[1:]
    print(
        f"async_setup of the config entry ({RUNS} starts, {PRINTERS} printers, a year of data): "
        f"first (cold imports) {setups[0]:.1f} ms; then p50 {statistics.median(warm):.1f} ms, "
        f"max {max(warm):.1f} ms"
    )
    print(
        f"state change burst ({BURST:,} changes, {len(listener):,} reached the listener): "
        f"hass.states.async_set p50 {percentile(whole, 0.5):.1f} µs, p99 "
        f"{percentile(whole, 0.99):.1f} µs; integration listener alone p50 "
        f"{percentile(listener, 0.5):.1f} µs, p99 {percentile(listener, 0.99):.1f} µs"
    )
    for name, value, target in (
        ("setup_p50_ms", statistics.median(warm), TARGET_SETUP_MS),
        ("setup_max_ms (warm)", max(warm), TARGET_SETUP_MS),
        ("listener_p99_us", percentile(listener, 0.99), TARGET_STATE_CHANGE_P99_US),
    ):
        verdict = "ok" if value <= target else "MISSED"
        print(f"  {name}: {value:.2f} (target ≤ {target}) {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
