"""The Printernizer server source within its limits: the export is read up to a byte cap, decoded and
counted off the event loop, everything for one week within one time budget, no redirect followed."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web

from custom_components.printernizer_usage.engine import printernizer_server
from custom_components.printernizer_usage.engine.printernizer_server import (
    PrinternizerServer,
    ServerUsage,
)

START = datetime(2026, 11, 9, tzinfo=UTC)
END = START + timedelta(days=7)
EVENT = {"event_type": "file_downloaded", "timestamp": "2026-11-10T08:00:00", "metadata": {}}


def _export(events: int) -> bytes:
    return json.dumps({"events": [EVENT] * events, "settings": {"secret": "x"}}).encode()


async def _serve(handlers: dict[str, Callable[..., object]]) -> tuple[web.AppRunner, str]:
    app = web.Application()
    for path, handler in handlers.items():
        app.router.add_get(path, handler)  # type: ignore[arg-type]
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def _settings(_request: web.Request) -> web.Response:
    return web.json_response({"library_enabled": True, "library_path": "/secret/path"})


async def test_an_export_within_the_cap_is_counted_off_the_event_loop(
    session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def export(_request: web.Request) -> web.Response:
        return web.Response(body=_export(3), content_type="application/json")

    threads: list[bool] = []
    original = printernizer_server.count_export

    def spy(raw: bytes, start: datetime, end: datetime) -> tuple[int, int] | None:
        threads.append(asyncio._get_running_loop() is None)
        return original(raw, start, end)

    monkeypatch.setattr(printernizer_server, "count_export", spy)
    runner, url = await _serve(
        {"/api/v1/usage-stats/export": export, "/api/v1/settings/application": _settings}
    )
    try:
        server = PrinternizerServer(session, url)
        usage = await server.week_usage(START, END)
    finally:
        await runner.cleanup()
    assert usage == ServerUsage(3, 0, {"printernizer_library": True})
    assert threads == [True]
    assert server.note is None


async def test_an_export_above_the_cap_gives_unknown_counts_and_a_note(
    session: aiohttp.ClientSession,
) -> None:
    body = _export(20_000)  # about 1.6 MB

    async def export(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for offset in range(0, len(body), 65_536):
            await response.write(body[offset : offset + 65_536])
        await response.write_eof()
        return response

    runner, url = await _serve(
        {"/api/v1/usage-stats/export": export, "/api/v1/settings/application": _settings}
    )
    try:
        server = PrinternizerServer(session, url, export_max_bytes=256 * 1024)
        usage = await server.week_usage(START, END)
    finally:
        await runner.cleanup()
    assert usage == ServerUsage(None, None, {"printernizer_library": True})
    assert server.note is not None
    assert "larger than 262,144 bytes" in server.note


async def test_a_server_that_does_not_answer_costs_the_budget_only(
    session: aiohttp.ClientSession,
) -> None:
    release = asyncio.Event()

    async def export(_request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(body=b"{}")

    runner, url = await _serve({"/api/v1/usage-stats/export": export})
    try:
        server = PrinternizerServer(session, url, budget=0.3)
        began = asyncio.get_running_loop().time()
        async with asyncio.timeout(5):  # the test's own deadline
            assert await server.week_usage(START, END) is None
        assert asyncio.get_running_loop().time() - began < 2.0
        assert server.note == "no answer within 0.3 s: figures unknown"
    finally:
        release.set()
        await runner.cleanup()


async def test_a_redirect_is_not_followed(session: aiohttp.ClientSession) -> None:
    async def export(_request: web.Request) -> web.Response:
        raise web.HTTPFound("http://192.0.2.1/elsewhere")

    runner, url = await _serve({"/api/v1/usage-stats/export": export})
    try:
        server = PrinternizerServer(session, url, budget=2.0)
        assert await server.week_usage(START, END) is None
        assert server.note == "not readable: figures unknown"
    finally:
        await runner.cleanup()
