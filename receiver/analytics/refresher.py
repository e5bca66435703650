"""When the rollups are refreshed: before answering analytics, at most once per interval per process,
and never twice at the same time (callers that arrive during a refresh wait for it and share it)."""

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from receiver.analytics.rollup_refresh import refresh_rollups
from receiver.db.transactions import Database


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
        self._last_started: float | None = None

    async def ensure_fresh(self, *, force: bool = False) -> None:
        """Refresh unless one started after this call did, or (not forced) within the interval."""
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
