"""A real HTTP server on 127.0.0.1 that answers with scripted statuses: for receiver behaviour the real
receiver cannot be made to show on demand (outages, Retry-After, answers that never come)."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

HANG = 0  # a scripted "status" that never answers


@dataclass
class ScriptedReceiver:
    """Pops one `(status, headers)` per request (200 when the script is empty); `HANG` never answers."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    url: str = ""
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        # aiohttp has already gunzipped the body (it fails the request if it is not valid gzip).
        raw = await request.read()
        body = json.loads(raw) if raw else None
        self.requests.append((request.method, request.path, dict(request.headers), body))
        status, headers = self.answers.pop(0) if self.answers else (200, {})
        if status == HANG:
            await self.released.wait()
            status = 503
        return web.json_response({"status": status}, status=status, headers=headers)

    def paths(self, method: str) -> list[str]:
        return [path for verb, path, _, _ in self.requests if verb == method]


@asynccontextmanager
async def scripted_receiver() -> AsyncIterator[ScriptedReceiver]:
    receiver = ScriptedReceiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        receiver.released.set()
        await runner.cleanup()
