"""Faults end to end: Home Assistant's real core and the integration's delivery scheduler, driven by Home
Assistant's time, against the REAL receiver process (SQLite and PostgreSQL) behind a fault-injecting
proxy. What is stored is checked in the receiver's own database.

Home Assistant's clock stays in the past (the receiver refuses periods that end in its future and weeks
older than 8 weeks): W1 is the Monday about five weeks ago; sharing is switched on the Friday before, so
W1 is the first week shared.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.printernizer_usage import installation as installation_module
from custom_components.printernizer_usage.const import (
    CONF_RAW_RETENTION_DAYS,
    CONF_RECEIVER_URL,
    CONF_ROTATE_YEARLY,
    CONF_SHARING_ENABLED,
    CONF_SUBMIT_KEY,
    DOMAIN,
    SECTION_ADVANCED,
)
from custom_components.printernizer_usage.engine import uploader
from custom_components.printernizer_usage.engine.timeutil import WEEK, week_start
from tests.integration.helpers import (
    current_identity,
    fire_due_timers,
    pending_deletions,
    time_passes,
)
from tests.integration.printers import FakePrinter, add_prusalink_printer
from tests.receiver_server import RunningReceiver, run_receiver

from .conftest import SUBMIT_KEY, receiver_env
from .fault_proxy import HANG, KILL_AFTER_STORE, FaultProxy, fault_proxy, status
from .receiver_db import job_counts, rows_about, stored_periods

pytestmark = pytest.mark.usefixtures("socket_enabled")

UPLOADER_LOG = "custom_components.printernizer_usage.engine.uploader"


@dataclass
class Receiver:
    """The real receiver, restartable on the same database, behind the proxy."""

    database_url: str
    workdir: Path
    stack: ExitStack
    running: RunningReceiver | None = None
    restarts: int = 0

    def start(self) -> str:
        directory = self.workdir / f"run-{self.restarts}"
        directory.mkdir()
        self.restarts += 1
        self.running = self.stack.enter_context(
            run_receiver(self.database_url, directory, env=receiver_env())
        )
        return self.running.url

    def kill(self) -> None:
        assert self.running is not None
        self.running.process.kill()  # SIGKILL: no shutdown, no flush, nothing more answered
        self.running.process.wait()


@pytest.fixture
def receiver(database_url: str, tmp_path: Path) -> Iterator[Receiver]:
    with ExitStack() as stack:
        receiver = Receiver(database_url, tmp_path, stack)
        receiver.start()
        yield receiver


@pytest.fixture
async def proxy(receiver: Receiver) -> AsyncIterator[FaultProxy]:
    assert receiver.running is not None
    async with fault_proxy(receiver.running.url, receiver.kill) as running:
        yield running


@pytest.fixture
def w1() -> datetime:
    """The first week shared: the Monday about five weeks before the real now."""
    return week_start(dt_util.utcnow() - timedelta(days=35))


async def _share(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    w1: datetime,
    proxy: FaultProxy,
    **options: bool,
) -> tuple[MockConfigEntry, FakePrinter]:
    """Sharing switched on the Friday before W1; a PrusaLink printer."""
    printer = add_prusalink_printer(hass)
    freezer.move_to(w1 - timedelta(days=3))
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={CONF_RECEIVER_URL: proxy.url, CONF_SUBMIT_KEY: SUBMIT_KEY},
        options={
            CONF_SHARING_ENABLED: True,
            CONF_RAW_RETENTION_DAYS: 90,
            CONF_ROTATE_YEARLY: False,
            **options,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert current_identity(entry).first_week == w1
    return entry, printer


async def _print_a_job(hass: HomeAssistant, printer: FakePrinter) -> None:
    for value in ("printing", "finished"):
        printer.set_state(hass, value)
        await hass.async_block_till_done()


async def _walk(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    until: datetime,
    step: timedelta = timedelta(minutes=10),
) -> None:
    """Home Assistant's time moves on in steps, every timer firing when due."""
    moment = dt_util.utcnow()
    while moment < until:
        moment = min(until, moment + step)
        await time_passes(hass, freezer, moment)


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


async def test_a_receiver_killed_after_storing_stores_nothing_twice_on_the_retry(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    receiver: Receiver,
    proxy: FaultProxy,
    database_url: str,
    w1: datetime,
) -> None:
    entry, printer = await _share(hass, freezer, w1, proxy)
    freezer.move_to(w1 + timedelta(days=1))
    await _print_a_job(hass, printer)
    identity = current_identity(entry)

    # The week reaches the receiver, which stores it; then it is killed before answering.
    proxy.faults = [KILL_AFTER_STORE]
    await time_passes(hass, freezer, w1 + WEEK + timedelta(days=1))
    assert proxy.outcomes("POST") == ["killed after 200"]
    assert receiver.running is not None
    assert receiver.running.process.returncode is not None
    assert await stored_periods(database_url, identity.installation_id) == [_day(w1)]
    (item,) = await entry.runtime_data.engine.outbox.items()
    assert (item.status, item.attempts) == ("pending", 1)  # no answer: it is sent again

    # The receiver is back (same database); the retry is stored once, nothing twice.
    proxy.upstream = receiver.start()
    await _walk(hass, freezer, item.next_attempt_at + timedelta(minutes=10))
    assert proxy.outcomes("POST") == ["killed after 200", "200"]
    assert await stored_periods(database_url, identity.installation_id) == [_day(w1)]
    assert await job_counts(database_url, identity.installation_id) == {_day(w1): 1}
    counts = await rows_about(database_url, [identity.installation_id])
    assert counts["submissions"] == 1
    assert counts["submission_models"] == 1  # the breakdown replaced, not added to
    assert await entry.runtime_data.engine.outbox.items() == []


async def test_a_restart_with_weeks_waiting_and_a_deletion_pending_completes_both_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    proxy: FaultProxy,
    database_url: str,
    w1: datetime,
) -> None:
    entry, _ = await _share(hass, freezer, w1, proxy)
    identity = current_identity(entry)
    await time_passes(hass, freezer, w1 + WEEK + timedelta(days=1))
    assert await stored_periods(database_url, identity.installation_id) == [_day(w1)]

    # The receiver is down: two more weeks wait, and the user asks to delete what was sent.
    proxy.down = 503
    await time_passes(hass, freezer, w1 + 3 * WEEK + timedelta(days=1))
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(DOMAIN, "delete_remote_data", blocking=True)
    assert [item.period_start for item in await entry.runtime_data.engine.outbox.items()] == [
        w1 + WEEK,
        w1 + 2 * WEEK,
    ]
    assert [item.installation_id for item in await pending_deletions(entry)] == [
        identity.installation_id
    ]

    # Home Assistant restarts; the receiver is back, though it refuses the next deletion once more
    # (the waiting weeks must still wait: sent now, they would be erased with the rest).
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    proxy.down = None
    proxy.faults = [status(503)]
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await _walk(hass, freezer, dt_util.utcnow() + timedelta(days=2), step=timedelta(hours=1))

    # The deletion came first and erased week 1; the waiting weeks were stored after it, once each.
    assert await stored_periods(database_url, identity.installation_id) == [
        _day(w1 + WEEK),
        _day(w1 + 2 * WEEK),
    ]
    assert proxy.outcomes("DELETE") == ["fault 503", "fault 503", "200"]
    posts = [entry for entry in proxy.log if entry.method == "POST" and entry.outcome == "200"]
    assert len(posts) == 3  # week 1 before, weeks 2 and 3 after the restart
    first_deletion = next(e.at for e in proxy.log if e.method == "DELETE" and e.outcome == "200")
    assert all(post.at >= first_deletion for post in posts[1:])
    assert await pending_deletions(entry) == []
    assert await entry.runtime_data.engine.outbox.items() == []


async def test_an_outage_of_503_429_500_and_timeouts_backs_off_warns_once_and_delivers_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    proxy: FaultProxy,
    database_url: str,
    w1: datetime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, UPLOADER_LOG)
    entry, _ = await _share(hass, freezer, w1, proxy)
    identity = current_identity(entry)
    proxy.faults = [
        status(503, Retry_After="1800"),
        status(429, Retry_After="3600"),
        status(500),
        status(500),
        HANG,
        HANG,
    ]
    await time_passes(hass, freezer, w1 + WEEK + timedelta(days=1))
    for _ in range(40):  # each step: to the next attempt, by Home Assistant's time
        (item,) = await entry.runtime_data.engine.outbox.items()
        if proxy.faults and proxy.faults[0] is HANG:
            await _attempt_that_times_out(hass, freezer, proxy, item.next_attempt_at)
        else:
            await _walk(hass, freezer, item.next_attempt_at, step=timedelta(minutes=5))
        if not await entry.runtime_data.engine.outbox.items():
            break
    attempts = [e for e in proxy.log if e.method == "POST"]
    assert [e.outcome for e in attempts] == [
        "fault 503",
        "fault 429",
        "fault 500",
        "fault 500",
        "hang",
        "hang",
        "200",
    ]
    # Retry-After honoured, and every later wait grows with the backoff (within its jitter).
    assert attempts[1].at - attempts[0].at >= timedelta(seconds=1800)
    assert attempts[2].at - attempts[1].at >= timedelta(seconds=3600)
    assert await stored_periods(database_url, identity.installation_id) == [_day(w1)]
    messages = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == UPLOADER_LOG]
    assert messages == [
        ("WARNING", "The usage receiver at 127.0.0.1 is unreachable; will retry with backoff"),
        ("INFO", "The usage receiver at 127.0.0.1 is reachable again"),
    ]


async def _attempt_that_times_out(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, proxy: FaultProxy, at: datetime
) -> None:
    """Move to the next attempt; the proxy holds the request until Home Assistant's request timeout
    (by its clock) has passed."""
    proxy.holding.clear()
    await _walk(hass, freezer, at - timedelta(seconds=1), step=timedelta(minutes=5))
    freezer.move_to(at)
    await fire_due_timers_without_waiting(hass)
    async with asyncio.timeout(10):
        await proxy.holding.wait()
    freezer.tick(uploader.REQUEST_TIMEOUT_SECONDS + 1)
    await hass.async_block_till_done(wait_background_tasks=True)


async def fire_due_timers_without_waiting(hass: HomeAssistant) -> None:
    async_fire_time_changed(hass, dt_util.utcnow())
    await asyncio.sleep(0)


async def _the_periodic_check_runs(hass: HomeAssistant) -> None:
    """The wall clock went back. The delivery check every 15 minutes is scheduled on the event loop's
    monotonic clock, which does not go back, so it still runs within 15 minutes. freezegun moves
    both clocks: run the timers as that check would."""
    async_fire_time_changed(hass, dt_util.utcnow(), fire_all=True)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_the_clock_jumping_a_week_forward_and_back_skips_no_week_and_stores_none_twice(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    proxy: FaultProxy,
    database_url: str,
    w1: datetime,
) -> None:
    entry, printer = await _share(hass, freezer, w1, proxy)
    identity = current_identity(entry)
    await time_passes(hass, freezer, w1 + WEEK + timedelta(days=1))  # week 1 is sent

    # The clock jumps a week ahead: week 2 looks complete and is sent early.
    await time_passes(hass, freezer, w1 + 2 * WEEK + timedelta(days=1))
    assert await stored_periods(database_url, identity.installation_id) == [
        _day(w1),
        _day(w1 + WEEK),
    ]
    # ... and back: week 2 has not ended; a job is printed in it.
    freezer.move_to(w1 + WEEK + timedelta(days=1, hours=1))
    await _the_periodic_check_runs(hass)
    await _print_a_job(hass, printer)
    assert await entry.runtime_data.engine.outbox.items() == []

    # Time goes on as it should: week 2 is sent when it has ended (complete), then week 3.
    await _walk(hass, freezer, w1 + 3 * WEEK + timedelta(days=1), step=timedelta(hours=2))
    assert await stored_periods(database_url, identity.installation_id) == [
        _day(w1),
        _day(w1 + WEEK),
        _day(w1 + 2 * WEEK),
    ]
    # Week 2 is stored once, with the job printed after the jump back (the early copy replaced).
    assert await job_counts(database_url, identity.installation_id) == {
        _day(w1): 0,
        _day(w1 + WEEK): 1,
        _day(w1 + 2 * WEEK): 0,
    }
    sent = [
        e.at for e in proxy.log if e.method == "POST" and e.outcome == "200"
    ]  # 4: weeks 1, 2 (early), 2 (complete), 3
    assert len(sent) == 4


async def test_rotation_then_opt_out_erases_every_ids_data_at_the_receiver(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    proxy: FaultProxy,
    database_url: str,
    w1: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A year is long for a test: the identity rotates after two weeks here (the rule is the same).
    monkeypatch.setattr(installation_module, "ROTATION_AGE", timedelta(days=14))
    entry, _ = await _share(hass, freezer, w1, proxy, **{CONF_ROTATE_YEARLY: True})
    first = current_identity(entry)
    await time_passes(hass, freezer, w1 + WEEK + timedelta(days=1))
    await time_passes(hass, freezer, w1 + 2 * WEEK + timedelta(days=1))  # rotation, then week 2
    second = current_identity(entry)
    assert second.installation_id != first.installation_id
    assert second.first_week == w1 + WEEK  # no week skipped, none sent under both
    ids = [first.installation_id, second.installation_id]
    assert await stored_periods(database_url, first.installation_id) == [_day(w1)]
    assert await stored_periods(database_url, second.installation_id) == [_day(w1 + WEEK)]
    assert [i.installation_id for i in await entry.runtime_data.engine.identities.all()] == [
        second.installation_id,
        first.installation_id,  # kept, with its secret, for deletion
    ]

    # Opt-out in the options flow.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SHARING_ENABLED: False,
            CONF_RAW_RETENTION_DAYS: 90,
            CONF_ROTATE_YEARLY: True,
            SECTION_ADVANCED: {CONF_RECEIVER_URL: proxy.url, CONF_SUBMIT_KEY: SUBMIT_KEY},
        },
    )
    await hass.async_block_till_done()
    await fire_due_timers(hass)

    assert sorted(
        p for p, o in ((e.path, e.outcome) for e in proxy.log) if o == "200" and "installation" in p
    ) == sorted(f"/installation/{installation_id}" for installation_id in ids)
    counts = await rows_about(database_url, ids)
    assert counts["submissions"] == 0
    assert counts["installations"] == 0
    assert set(counts.values()) == {0}, counts
    assert await entry.runtime_data.engine.identities.all() == []
