"""A per-client-address request limit, held only in memory (addresses are never stored or logged)."""

import time

from receiver.errors import ApiError

WINDOW_SECONDS = 60
MAX_TRACKED_CLIENTS = 100_000


class ClientRateLimiter:
    """Fixed one-minute windows; `limit` 0 switches the limit off."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._window = 0
        self._counts: dict[str, int] = {}

    def hit(self, client: str | None, now: float | None = None) -> None:
        if self.limit <= 0 or client is None:
            return
        window = int((time.time() if now is None else now) // WINDOW_SECONDS)
        if window != self._window or len(self._counts) > MAX_TRACKED_CLIENTS:
            self._window = window
            self._counts = {}
        count = self._counts.get(client, 0) + 1
        self._counts[client] = count
        if count > self.limit:
            retry_after = (window + 1) * WINDOW_SECONDS - int(now or time.time())
            raise ApiError(
                429,
                "client_rate_limited",
                f"Too many requests from this address (limit {self.limit} per minute).",
                headers={"Retry-After": str(max(retry_after, 1))},
            )
