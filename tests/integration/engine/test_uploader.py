"""Outbox delivery against real HTTP peers: a scripted aiohttp server and the real receiver."""

import gzip
import json
import logging
import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from custom_components.printernizer_usage.engine.engine import UsageEngine
from custom_components.printernizer_usage.engine.uploader import Uploader
from tests.integration.scripted_receiver import ScriptedReceiver, scripted_receiver
from tests.receiver_server import run_receiver

from .conftest import INSTALLATION_ID, WEEK_46, Clock, context

SECRET = "s" * 43
SUBMIT_KEY = "submit-key-for-engine-tests"
ADMIN_KEY = "admin-key-for-engine-tests-0000"


@pytest.fixture
async def scripted(socket_enabled: None) -> AsyncIterator[ScriptedReceiver]:
    async with scripted_receiver() as receiver:
        yield receiver


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """Sockets are allowed to 127.0.0.1 only (pytest-socket, set up by the Home Assistant plugin)."""
    async with aiohttp.ClientSession() as client:
        yield client


async def three_weeks_enqueued(engine: UsageEngine, clock: Clock) -> None:
    clock.now = WEEK_46 + timedelta(days=21, hours=2)
    assert await engine.enqueue_completed_weeks(context(first_seen=WEEK_46)) == 3


def uploader_for(
    session: aiohttp.ClientSession, engine: UsageEngine, url: str, seed: int = 1
) -> Uploader:
    return Uploader(
        session, engine, url, SUBMIT_KEY, INSTALLATION_ID, SECRET, rng=random.Random(seed)
    )


async def test_weeks_are_sent_oldest_first_gzipped_with_the_keys(
    engine: UsageEngine, clock: Clock, scripted: ScriptedReceiver, session: aiohttp.ClientSession
) -> None:
    await three_weeks_enqueued(engine, clock)
    report = await uploader_for(session, engine, scripted.url).deliver_due(clock.now)
    assert (report.sent, report.pending, report.reachable, report.retry_at) == (3, 0, True, None)
    starts = [body["period"]["start"] for _, _, _, body in scripted.requests]
    assert starts == ["2026-11-09T00:00:00Z", "2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z"]
    method, path, headers, _ = scripted.requests[0]
    assert (method, path) == ("POST", "/submit")
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Encoding"] == "gzip"
    compact = json.dumps(scripted.requests[0][3], separators=(",", ":")).encode()
    assert int(headers["Content-Length"]) == len(gzip.compress(compact))
    assert (headers["X-API-Key"], headers["X-Installation-Secret"]) == (SUBMIT_KEY, SECRET)
    audit = await engine.audit_log()
    assert [entry.status_code for entry in audit] == [200, 200, 200]
    assert audit[-1].payload == scripted.requests[0][3]
    assert await engine.outbox() == []


async def test_server_errors_back_off_with_jitter_honour_retry_after_and_log_once(
    engine: UsageEngine,
    clock: Clock,
    scripted: ScriptedReceiver,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await three_weeks_enqueued(engine, clock)
    uploader = uploader_for(session, engine, scripted.url)
    caplog.set_level(logging.INFO, "custom_components.printernizer_usage.engine.uploader")

    scripted.answers = [(503, {"Retry-After": "7200"})]
    first = await uploader.deliver_due(clock.now)
    assert (first.sent, first.pending, first.reachable) == (0, 3, False)
    assert first.retry_at is not None
    assert clock.now + timedelta(hours=2) <= first.retry_at <= clock.now + timedelta(days=1)
    assert len(scripted.requests) == 1  # later weeks wait behind the oldest

    # Not due yet: nothing is sent.
    assert (await uploader.deliver_due(clock.now + timedelta(minutes=30))).reachable is None
    assert len(scripted.requests) == 1

    delays: list[datetime] = []
    for _ in range(12):
        clock.now = first.retry_at if not delays else delays[-1]
        scripted.answers = [(500, {})]
        report = await uploader.deliver_due(clock.now)
        assert report.retry_at is not None
        delays.append(report.retry_at)
    (item, *_) = await engine.outbox()
    assert item.attempts == 13
    assert item.last_error is not None
    assert item.last_error.startswith("500")
    assert all(
        later - earlier <= timedelta(days=1)
        for earlier, later in zip([first.retry_at, *delays], delays, strict=False)
    )

    clock.now = delays[-1]
    back = await uploader.deliver_due(clock.now)
    assert (back.sent, back.pending, back.reachable) == (3, 0, True)
    messages = [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name.endswith("engine.uploader")
    ]
    assert [level for level, _ in messages] == ["WARNING", "INFO"]
    assert "unreachable" in messages[0][1]


async def test_refused_payloads_are_given_up_but_refused_credentials_pause_delivery(
    engine: UsageEngine, clock: Clock, scripted: ScriptedReceiver, session: aiohttp.ClientSession
) -> None:
    await three_weeks_enqueued(engine, clock)
    uploader = uploader_for(session, engine, scripted.url)
    scripted.answers = [(400, {}), (403, {})]
    report = await uploader.deliver_due(clock.now)
    assert (report.sent, report.rejected, report.auth_failed_status, report.pending) == (
        0,
        1,
        403,
        2,
    )
    assert report.error is not None
    assert report.error.startswith("403")
    statuses = [(item.status, item.last_error is not None) for item in await engine.outbox()]
    assert statuses == [("rejected", True), ("pending", True), ("pending", False)]
    assert [entry.status_code for entry in await engine.audit_log()] == [403, 400]
    # Paused for a day: no request before the slow re-check, whatever the backoff would say.
    assert report.retry_at == clock.now + timedelta(days=1)
    quiet = await uploader.deliver_due(clock.now + timedelta(hours=23))
    assert (quiet.sent, quiet.reachable, len(scripted.requests)) == (0, None, 2)

    # The re-check a day later: the receiver accepts again, everything waiting goes out.
    recheck = await uploader.deliver_due(clock.now + timedelta(days=1))
    assert (recheck.sent, recheck.pending, recheck.auth_failed_status) == (2, 0, None)


async def test_rate_limits_are_retried_after_retry_after(
    engine: UsageEngine, clock: Clock, scripted: ScriptedReceiver, session: aiohttp.ClientSession
) -> None:
    await three_weeks_enqueued(engine, clock)
    uploader = uploader_for(session, engine, scripted.url)
    scripted.answers = [(429, {"Retry-After": "60"})]
    limited = await uploader.deliver_due(clock.now)
    assert limited.reachable is True  # rate limited is reachable, but retried later
    assert limited.retry_at is not None
    assert limited.retry_at >= clock.now + timedelta(seconds=60)


async def test_a_wait_can_be_dropped_when_the_user_asks(
    engine: UsageEngine, clock: Clock, scripted: ScriptedReceiver, session: aiohttp.ClientSession
) -> None:
    await three_weeks_enqueued(engine, clock)
    uploader = uploader_for(session, engine, scripted.url)
    scripted.answers = [(503, {"Retry-After": "7200"})]
    assert (await uploader.deliver_due(clock.now)).sent == 0
    assert (await uploader.deliver_due(clock.now)).reachable is None  # waiting

    assert await engine.make_pending_due(INSTALLATION_ID, clock.now) == 1  # the oldest waited
    assert (await uploader.deliver_due(clock.now)).sent == 3


async def test_network_errors_are_retried(
    engine: UsageEngine, clock: Clock, session: aiohttp.ClientSession
) -> None:
    await three_weeks_enqueued(engine, clock)
    from tests.receiver_server import free_port  # noqa: PLC0415

    uploader = uploader_for(session, engine, f"http://127.0.0.1:{free_port()}")
    report = await uploader.deliver_due(clock.now)
    assert (report.sent, report.reachable, report.pending) == (0, False, 3)
    (item, *_) = await engine.outbox()
    assert item.attempts == 1
    deletion = await uploader.request_remote_deletion(clock.now)
    assert (deletion.confirmed, deletion.status_code) == (False, None)
    assert deletion.error


async def test_remote_deletion_is_confirmed_by_200_or_404(
    engine: UsageEngine, clock: Clock, scripted: ScriptedReceiver, session: aiohttp.ClientSession
) -> None:
    uploader = uploader_for(session, engine, scripted.url + "/")
    scripted.answers = [(404, {}), (503, {})]
    confirmed = await uploader.request_remote_deletion(clock.now)
    assert (confirmed.confirmed, confirmed.status_code) == (True, 404)
    later = await uploader.request_remote_deletion(clock.now)
    assert (later.confirmed, later.status_code) == (False, 503)
    method, path, headers, _ = scripted.requests[0]
    assert (method, path) == ("DELETE", f"/installation/{INSTALLATION_ID}")
    assert (headers["X-API-Key"], headers["X-Installation-Secret"]) == (SUBMIT_KEY, SECRET)
    assert [(e.action, e.status_code) for e in await engine.audit_log()] == [
        ("delete", 503),
        ("delete", 404),
    ]


async def test_real_receiver_stores_the_weeks_then_erases_them(
    engine: UsageEngine, clock: Clock, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'receiver.db'}"
    env = {
        "RECEIVER_ENVIRONMENT": "development",
        "RECEIVER_SUBMIT_KEYS": SUBMIT_KEY,
        "RECEIVER_ADMIN_KEYS": ADMIN_KEY,
    }
    # Real time: the receiver refuses periods that end in the future.
    clock.now = clock.now.__class__.now(clock.now.tzinfo)
    real_week = clock.now - timedelta(days=clock.now.weekday() + 14)
    with run_receiver(database_url, tmp_path, env=env) as receiver:
        assert await engine.enqueue_completed_weeks(context(first_seen=real_week)) == 2
        uploader = uploader_for(session, engine, receiver.url)
        report = await uploader.deliver_due(clock.now)
        assert (report.sent, report.rejected, report.pending) == (2, 0, 0)
        assert [entry.status_code for entry in await engine.audit_log()] == [200, 200]

        impostor = Uploader(session, engine, receiver.url, SUBMIT_KEY, INSTALLATION_ID, "x" * 43)
        refused = await impostor.request_remote_deletion(clock.now)
        assert (refused.confirmed, refused.status_code) == (False, 403)

        deletion = await uploader.request_remote_deletion(clock.now)
        assert (deletion.confirmed, deletion.status_code) == (True, 200)
        assert (
            json.loads((await engine.audit_log())[0].response or "{}")["deleted_submissions"] == 2
        )
        again = await uploader.request_remote_deletion(clock.now)
        assert again.confirmed
