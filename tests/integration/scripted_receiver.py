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


type Answer = tuple[int, dict[str, str]] | tuple[int, dict[str, str], Any]


def receiver_answer(method: str, path: str) -> Any:
    """What the real receiver answers when it stored a submission or erased an installation."""
    if method == "DELETE":
        return {"installation_id": path.rsplit("/", 1)[-1], "deleted_submissions": 0}
    return {"status": "stored"}


@dataclass
class ScriptedReceiver:
    """Pops one `(status, headers[, body])` per request (200 and the real receiver's answer when the
    script is empty or no body is given); `HANG` never answers."""

    answers: list[Answer] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    url: str = ""
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        # aiohttp has already gunzipped the body (it fails the request if it is not valid gzip).
        raw = await request.read()
        body = json.loads(raw) if raw else None
        self.requests.append((request.method, request.path, dict(request.headers), body))
        answer: Answer = self.answers.pop(0) if self.answers else (200, {})
        status, headers = answer[0], answer[1]
        if status == HANG:
            await self.released.wait()
            status = 503
        if len(answer) == 3:
            body = answer[2]
        elif status == 200:
            body = receiver_answer(request.method, request.path)
        else:
            body = {"error": {"status": status}}
        return web.json_response(body, status=status, headers=headers)

    def paths(self, method: str) -> list[str]:
        return [path for verb, path, _, _ in self.requests if verb == method]


@asynccontextmanager
async def scripted_receiver() -> AsyncIterator[ScriptedReceiver]:
    receiver = ScriptedReceiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
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
