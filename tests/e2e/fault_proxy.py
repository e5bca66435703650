"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the REAL receiver process.

Home Assistant talks to the proxy; the proxy forwards to the receiver (whose URL may change when the
receiver is restarted) unless a scripted fault answers instead: a status with headers (503 or 429 with
`Retry-After`, 500), a request that hangs until released (a timeout), or "kill after store": the request
reaches the receiver, which stores it and answers, and then the receiver process is SIGKILLed and the
connection to Home Assistant dropped, so Home Assistant never sees the answer.

Every request is logged with Home Assistant's (frozen) time and what happened to it.
"""

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
from aiohttp import web
from homeassistant.util import dt as dt_util

FORWARDED_HEADERS = ("X-API-Key", "X-Installation-Secret", "Content-Type")


@dataclass(frozen=True)
class Fault:
    kind: str  # "status" | "hang" | "kill_after_store"
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)


def status(code: int, **headers: str) -> Fault:
    return Fault("status", code, {key.replace("_", "-"): value for key, value in headers.items()})


HANG = Fault("hang")
KILL_AFTER_STORE = Fault("kill_after_store")


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    at: datetime  # Home Assistant's time
    outcome: str  # "200" (forwarded and answered), "fault 503", "hang", "killed after 200"


@dataclass
class FaultProxy:
    upstream: str
    kill: Callable[[], None] = lambda: None
    faults: list[Fault] = field(default_factory=list)
    down: int | None = None  # a status answered to everything while set (the receiver is "down")
    log: list[Logged] = field(default_factory=list)
    url: str = ""
    holding: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def outcomes(self, method: str) -> list[str]:
        return [entry.outcome for entry in self.log if entry.method == method]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()  # aiohttp has gunzipped it
        at = dt_util.utcnow()
        fault = self.faults.pop(0) if self.faults else None
        if fault is None and self.down is not None:
            fault = status(self.down)
        if fault is not None and fault.kind == "status":
            self.log.append(Logged(request.method, request.path, at, f"fault {fault.status}"))
            return web.json_response(
                {"error": {"status": fault.status, "code": "injected"}},
                status=fault.status,
                headers=fault.headers,
            )
        if fault is not None and fault.kind == "hang":
            self.log.append(Logged(request.method, request.path, at, "hang"))
            self.holding.set()
            await self.release.wait()
            return web.json_response({}, status=503)
        answer_status, answer_body, content_type = await self._forward(request, body)
        if fault is not None and fault.kind == "kill_after_store":
            self.kill()
            self.log.append(
                Logged(request.method, request.path, at, f"killed after {answer_status}")
            )
            assert request.transport is not None
            request.transport.close()  # Home Assistant never sees the answer
            return web.Response(status=answer_status)
        self.log.append(Logged(request.method, request.path, at, str(answer_status)))
        return web.Response(status=answer_status, body=answer_body, content_type=content_type)

    async def _forward(self, request: web.Request, body: bytes) -> tuple[int, bytes, str]:
        headers = {
            name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers
        }
        data: bytes | None = None
        if body:
            data = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method,
                f"{self.upstream}{request.path_qs}",
                data=data,
                headers=headers,
                allow_redirects=False,
            ) as response,
        ):
            return (
                response.status,
                await response.read(),
                response.content_type or "application/json",
            )


@asynccontextmanager
async def fault_proxy(upstream: str, kill: Callable[[], None]) -> AsyncIterator[FaultProxy]:
    proxy = FaultProxy(upstream=upstream, kill=kill)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    proxy.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield proxy
    finally:
        proxy.release.set()
        await runner.cleanup()
