"""When the rollups are refreshed: in the background every interval (`run`), and then answers never
wait for a refresh — they read the rollups as of the last one; without the background task (interval
0, tests) before answering, at most once per interval per process. Never twice at the same time
(callers that arrive during a refresh wait for it and share it). The one active window an answer
reads is recomputed when it is stale, under its own lock (a long refresh does not hold it up)."""

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_lock import lock_rollups
from receiver.analytics.rollup_refresh import refresh_rollups
from receiver.analytics.summaries import refresh_window, window_is_stale
from receiver.db.transactions import Database

log = structlog.get_logger("receiver.analytics")

# The first background refresh comes a moment after start: the rollups are as of the last refresh
# before (they are in the database), and a process that stops right away is not left waiting.
FIRST_REFRESH_SECONDS = 1.0


class RollupRefresher:
    def __init__(
        self,
        database: Database,
        min_interval_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.min_interval_seconds = min_interval_seconds
        self._clock = clock
        self._lock = asyncio.Lock()
        self._window_lock = asyncio.Lock()
        self._last_started: float | None = None
        self._in_background = False
        self._stop = asyncio.Event()

    async def ensure_fresh(self, *, force: bool = False) -> None:
        """Refresh unless one started after this call did, or (not forced) within the interval or
        while the background task keeps the rollups fresh."""
        if self._in_background and not force:
            return
        asked = self._clock()
        async with self._lock:
            last = self._last_started
            if last is not None and last >= asked:
                return  # a refresh that began after we asked has just finished
            if not force and last is not None and asked - last < self.min_interval_seconds:
                return
            self._last_started = self._clock()
            try:
                await refresh_rollups(self.database, datetime.now(UTC))
            except BaseException:
                self._last_started = last  # the next caller tries again
                raise

    async def ensure_window(self, until: date) -> None:
        """Recompute the active window ending with `until` when a refresh left it stale."""

        async def stale(connection: AsyncConnection) -> bool:
            return await window_is_stale(connection, until)

        async def recompute(connection: AsyncConnection) -> None:
            await lock_rollups(connection)
            await refresh_window(connection, until)

        if await self.database.read(stale):
            async with self._window_lock:  # the database's rollup lock orders it with a refresh
                await self.database.write(recompute)

    async def run(
        self, default_until: Callable[[], date], first_after_seconds: float = FIRST_REFRESH_SECONDS
    ) -> None:
        """Refresh every interval in the background (and the window the dashboard opens with), so
        answers never wait for one; errors are retried at the next round. Returns when `stop()` is
        called — between refreshes, never in the middle of one's transaction."""
        self._in_background = True
        if await self._stopped_within(first_after_seconds):
            return
        while True:
            try:
                await self.ensure_fresh(force=True)
                await self.ensure_window(default_until())
            except Exception as error:  # e.g. the database is down: try again next round
                log.warning("rollup_refresh_failed", error=type(error).__name__)
            if await self._stopped_within(self.min_interval_seconds):
                return

    def stop(self) -> None:
        """Ask `run` to return after the refresh in progress, if any."""
        self._stop.set()

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            return False
        return True
