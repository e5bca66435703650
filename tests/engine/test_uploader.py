"""Outbox delivery against real HTTP peers: a scripted aiohttp server and the real receiver.

Each protective rule has a test here: only the receiver's own success answer counts (never a 404, a
redirect or another server's 200), redirects are never followed, only HTTPS or loopback receivers are
contacted, a rate limit does not start or end an outage, logs name the receiver by its host."""

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
from custom_components.printernizer_usage.engine.uploader import (
    ReceiverHealth,
    Uploader,
    request_deletion,
)
from tests.integration.scripted_receiver import HANG, ScriptedReceiver, scripted_receiver
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
async def elsewhere(socket_enabled: None) -> AsyncIterator[ScriptedReceiver]:
    """Another server, where a redirect points to."""
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
    session: aiohttp.ClientSession,
    engine: UsageEngine,
    url: str,
    seed: int = 1,
    **options: float,
) -> Uploader:
    return Uploader(
        session,
        engine.outbox,
        url,
        SUBMIT_KEY,
        INSTALLATION_ID,
        SECRET,
        rng=random.Random(seed),
        **options,  # type: ignore[arg-type]
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
    audit = await engine.outbox.audit_entries()
    assert [entry.status_code for entry in audit] == [200, 200, 200]
    assert audit[-1].payload == scripted.requests[0][3]
    assert await engine.outbox.items() == []


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
    (item, *_) = await engine.outbox.items()
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
    assert "127.0.0.1" in messages[0][1]
    assert scripted.url not in caplog.text  # the host only, never the URL


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
    statuses = [(item.status, item.last_error is not None) for item in await engine.outbox.items()]
    assert statuses == [("rejected", True), ("pending", True), ("pending", False)]
    assert [entry.status_code for entry in await engine.outbox.audit_entries()] == [403, 400]
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
    assert limited.reachable is None  # a rate limit says nothing about an outage
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

    assert await engine.outbox.make_due(INSTALLATION_ID, clock.now) == 1  # the oldest waited
    assert (await uploader.deliver_due(clock.now)).sent == 3


async def test_network_errors_are_retried(
    engine: UsageEngine, clock: Clock, session: aiohttp.ClientSession
) -> None:
    await three_weeks_enqueued(engine, clock)
    from tests.receiver_server import free_port  # noqa: PLC0415

    url = f"http://127.0.0.1:{free_port()}/secret-token-path"
    uploader = uploader_for(session, engine, url)
    report = await uploader.deliver_due(clock.now)
    assert (report.sent, report.reachable, report.pending) == (0, False, 3)
    assert report.error is not None
    assert "secret-token-path" not in report.error  # shown to the user: the host only
    (item, *_) = await engine.outbox.items()
    assert item.attempts == 1
    assert "secret-token-path" not in str(item.last_error)
    deletion = await uploader.request_remote_deletion(clock.now)
    assert (deletion.confirmed, deletion.status_code) == (False, None)
    assert deletion.error


async def test_a_deletion_is_confirmed_only_by_the_receivers_success_answer(
    engine: UsageEngine,
    clock: Clock,
    scripted: ScriptedReceiver,
    elsewhere: ScriptedReceiver,
    session: aiohttp.ClientSession,
) -> None:
    uploader = uploader_for(session, engine, scripted.url + "/")
    scripted.answers = [
        (404, {}),  # a wrong path, a proxy, another server: nothing was deleted
        (200, {}, {"deleted": True}),  # a 200 that is not the receiver's answer
        (
            200,
            {},
            {"installation_id": "0" * 8 + "-0000-4000-8000-" + "0" * 12, "deleted_submissions": 1},
        ),
        (307, {"Location": f"{elsewhere.url}/installation/{INSTALLATION_ID}"}),
        (503, {}),
    ]
    for expected_status in (404, 200, 200, 307, 503):
        result = await uploader.request_remote_deletion(clock.now)
        assert (result.confirmed, result.status_code) == (False, expected_status)
        assert result.error
    assert elsewhere.requests == []  # the redirect was not followed: the secret stayed here
    confirmed = await uploader.request_remote_deletion(clock.now)
    assert (confirmed.confirmed, confirmed.status_code) == (True, 200)
    method, path, headers, _ = scripted.requests[0]
    assert (method, path) == ("DELETE", f"/installation/{INSTALLATION_ID}")
    assert (headers["X-API-Key"], headers["X-Installation-Secret"]) == (SUBMIT_KEY, SECRET)
    assert [(e.action, e.status_code) for e in await engine.outbox.audit_entries()] == [
        ("delete", 200),
        ("delete", 503),
        ("delete", 307),
        ("delete", 200),
        ("delete", 200),
        ("delete", 404),
    ]


async def test_a_redirect_is_never_followed_and_the_week_is_not_delivered(
    engine: UsageEngine,
    clock: Clock,
    scripted: ScriptedReceiver,
    elsewhere: ScriptedReceiver,
    session: aiohttp.ClientSession,
) -> None:
    await three_weeks_enqueued(engine, clock)
    uploader = uploader_for(session, engine, scripted.url)
    scripted.answers = [(308, {"Location": f"{elsewhere.url}/submit"})]
    report = await uploader.deliver_due(clock.now)
    assert (report.sent, report.pending, report.reachable) == (0, 3, False)
    assert report.error is not None
    assert report.error.startswith("308")
    assert elsewhere.requests == []
    (first, *_) = await engine.outbox.items()
    assert (first.status, first.attempts) == ("pending", 1)

    # A 200 from something that is not the receiver (a captive portal) is not a delivery either.
    scripted.answers = [(200, {}, {"welcome": "portal"})]
    report = await uploader.deliver_due(first.next_attempt_at)
    assert (report.sent, report.pending) == (0, 3)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://192.0.2.10:8080", "insecure_receiver_url"),
        ("http://usage.example", "insecure_receiver_url"),
        ("https://user:password@127.0.0.1:9", "receiver_url_with_credentials"),
        ("ftp://127.0.0.1", "invalid_receiver_url"),
    ],
)
async def test_only_https_or_loopback_receivers_without_credentials_are_contacted(
    engine: UsageEngine, clock: Clock, session: aiohttp.ClientSession, url: str, problem: str
) -> None:
    await three_weeks_enqueued(engine, clock)
    uploader = uploader_for(session, engine, url, timeout=0.5)
    report = await uploader.deliver_due(clock.now)
    assert (report.sent, report.pending, report.reachable) == (0, 3, None)
    assert report.error == f"receiver URL not used: {problem}"
    assert all(item.attempts == 0 for item in await engine.outbox.items())
    deletion = await uploader.request_remote_deletion(clock.now)
    assert (deletion.confirmed, deletion.status_code) == (False, None)
    assert await engine.outbox.audit_entries() == []  # no request was made


async def test_an_outage_of_503_429_500_and_timeouts_is_one_warning(
    engine: UsageEngine,
    clock: Clock,
    scripted: ScriptedReceiver,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await three_weeks_enqueued(engine, clock)
    caplog.set_level(logging.INFO, "custom_components.printernizer_usage.engine.uploader")
    uploader = uploader_for(session, engine, scripted.url, timeout=0.3)
    scripted.answers = [
        (503, {"Retry-After": "120"}),
        (429, {"Retry-After": "600"}),
        (500, {}),
        (HANG, {}),
    ]
    waits: list[timedelta] = []
    for _ in range(4):
        (item, *_) = await engine.outbox.items()
        clock.now = item.next_attempt_at
        report = await uploader.deliver_due(clock.now)
        assert report.sent == 0
        assert report.retry_at is not None
        waits.append(report.retry_at - clock.now)
    assert waits[0] >= timedelta(seconds=120)
    assert waits[1] >= timedelta(seconds=600)  # Retry-After of the 429
    scripted.released.set()
    (item, *_) = await engine.outbox.items()
    back = await uploader.deliver_due(item.next_attempt_at)
    assert (back.sent, back.pending, back.reachable) == (3, 0, True)
    levels = [r.levelname for r in caplog.records if r.name.endswith("engine.uploader")]
    assert levels == ["WARNING", "INFO"]


async def test_deletions_without_an_outbox_share_the_receivers_health(
    scripted: ScriptedReceiver, session: aiohttp.ClientSession
) -> None:
    health = ReceiverHealth(scripted.url)
    scripted.answers = [(502, {})]
    failed = await request_deletion(
        session, scripted.url, SUBMIT_KEY, INSTALLATION_ID, SECRET, health=health
    )
    assert (failed.confirmed, health.reachable, health.host) == (False, False, "127.0.0.1")
    done = await request_deletion(
        session, scripted.url, SUBMIT_KEY, INSTALLATION_ID, SECRET, health=health
    )
    assert (done.confirmed, health.reachable) == (True, True)


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
        assert [entry.status_code for entry in await engine.outbox.audit_entries()] == [200, 200]

        impostor = Uploader(
            session, engine.outbox, receiver.url, SUBMIT_KEY, INSTALLATION_ID, "x" * 43
        )
        refused = await impostor.request_remote_deletion(clock.now)
        assert (refused.confirmed, refused.status_code) == (False, 403)

        deletion = await uploader.request_remote_deletion(clock.now)
        assert (deletion.confirmed, deletion.status_code) == (True, 200)
        assert (
            json.loads((await engine.outbox.audit_entries())[0].response or "{}")[
                "deleted_submissions"
            ]
            == 2
        )
        again = await uploader.request_remote_deletion(clock.now)
        assert again.confirmed


async def test_an_error_quoting_the_url_names_the_receiver_by_its_host(
    engine: UsageEngine, clock: Clock
) -> None:
    url = "https://usage.example/secret-token-path"

    class FailingSession:
        def request(self, method: str, target: str, **_: object) -> None:
            raise aiohttp.InvalidUrlClientError(f"{target} was refused by a proxy at {url}")

    await three_weeks_enqueued(engine, clock)
    uploader = Uploader(
        FailingSession(),  # type: ignore[arg-type]
        engine.outbox,
        url,
        SUBMIT_KEY,
        INSTALLATION_ID,
        SECRET,
    )
    report = await uploader.deliver_due(clock.now)
    assert report.error is not None
    assert "usage.example" in report.error
    assert "secret-token-path" not in report.error
    (item, *_) = await engine.outbox.items()
    assert "secret-token-path" not in str(item.last_error)
