"""The HTTP side shared by the fake printers: an aiohttp server on 127.0.0.1 (port 0 at first, the same
port after a power cycle), a log of the requests, and "power off" (connection refused)."""

from collections.abc import Awaitable, Callable

from aiohttp import web

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeHttpDevice:
    """A device answering HTTP on 127.0.0.1; subclasses add their routes in `routes`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []  # (method, path), in order
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._port = 0

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    @property
    def port(self) -> int:
        assert self._port, "not started"
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def powered(self) -> bool:
        return self._site is not None

    @property
    def state_label(self) -> str:
        """What the device is doing, as the test set it (for time accounting and messages)."""
        raise NotImplementedError

    def paths(self) -> list[str]:
        return [path for _, path in self.requests]

    @web.middleware
    async def _log_and_close(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        response = await handler(request)
        # No keep-alive: after a power-off the next request must be refused, not served on an old
        # connection (the OctoPrint client closes its connections anyway, httpx would keep them).
        response.force_close()
        return response

    async def start(self) -> None:
        app = web.Application(middlewares=[self._log_and_close])
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await self.power_on()

    async def power_on(self) -> None:
        """Listen again (on the same port after the first start)."""
        assert self._runner is not None
        assert self._site is None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self._port, reuse_address=True)
        await self._site.start()
        self._port = self._runner.addresses[0][1]

    async def power_off(self) -> None:
        """Stop listening: connections are refused until `power_on`."""
        assert self._site is not None
        await self._site.stop()
        self._site = None

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self._site = None
