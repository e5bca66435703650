"""Per-client-address limits, held only in memory (addresses are never stored or logged).

Entries live in insertion/LRU order: a hit moves its key to the end, so stale keys gather at the
front and are dropped there (TTL: their window is over); when more than `max_entries` keys are live
the least recently used are dropped (an attacker with many addresses can only reset others' counts,
never grow memory).
"""

import time
from collections import OrderedDict
from dataclasses import dataclass

from receiver.errors import ApiError

WINDOW_SECONDS = 60
DAY_SECONDS = 86_400
MAX_TRACKED_CLIENTS = 100_000


@dataclass(slots=True)
class _Entry:
    window: int
    count: int


class WindowCounter:
    """Counts per key in fixed windows of `window_seconds`, bounded to `max_entries` keys."""

    def __init__(self, window_seconds: int, max_entries: int = MAX_TRACKED_CLIENTS) -> None:
        self.window_seconds = window_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def window_of(self, now: float) -> int:
        return int(now // self.window_seconds)

    def retry_after(self, now: float) -> int:
        return max((self.window_of(now) + 1) * self.window_seconds - int(now), 1)

    def _evict(self, window: int) -> None:
        entries = self._entries
        while entries:
            oldest = next(iter(entries.values()))
            if oldest.window >= window and len(entries) <= self.max_entries:
                return
            entries.popitem(last=False)

    def count(self, key: str, now: float) -> int:
        """The key's count in the current window (0 when unknown)."""
        entry = self._entries.get(key)
        return entry.count if entry is not None and entry.window == self.window_of(now) else 0

    def add(self, key: str, now: float, amount: int = 1) -> int:
        """Add to the key's count in the current window; returns the new count."""
        window = self.window_of(now)
        entry = self._entries.get(key)
        if entry is None or entry.window != window:
            entry = _Entry(window, 0)
            self._entries[key] = entry
        entry.count = max(entry.count + amount, 0)
        self._entries.move_to_end(key)
        self._evict(window)
        return entry.count


class ClientRateLimiter:
    """Requests per client key per minute; `limit` 0 switches the limit off.

    Requests that did not present a valid key count in a bucket of their own (`authenticated=False`):
    a flood of unauthenticated requests from an address (or from others behind the same NAT) never
    uses up the budget of authenticated clients there, and is still limited itself.
    """

    def __init__(
        self, limit: int, *, code: str = "client_rate_limited", what: str = "requests"
    ) -> None:
        self.limit = limit
        self.code = code
        self.what = what
        self.counter = WindowCounter(WINDOW_SECONDS)

    def __len__(self) -> int:
        return len(self.counter)

    def hit(
        self, client: str | None, now: float | None = None, *, authenticated: bool = True
    ) -> None:
        if self.limit <= 0 or client is None:
            return
        moment = time.time() if now is None else now
        key = client if authenticated else f"anonymous {client}"
        if self.counter.add(key, moment) > self.limit:
            raise ApiError(
                429,
                self.code,
                f"Too many {self.what} from this address (limit {self.limit} per minute).",
                headers={"Retry-After": str(self.counter.retry_after(moment))},
            )


class NewInstallationLimiter:
    """New installation ids per client key per UTC day (made-up ids would bypass the per-installation
    limit, as the submit key is public). `reserve` before storing, `release` when the submission did
    not create an installation, so the count is exact within one worker process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.counter = WindowCounter(DAY_SECONDS)

    def __len__(self) -> int:
        return len(self.counter)

    def reserve(self, client: str | None, now: float) -> bool:
        """True when this client may still create an installation today (one is reserved)."""
        if self.limit <= 0 or client is None:
            return True
        if self.counter.count(client, now) >= self.limit:
            return False
        self.counter.add(client, now)
        return True

    def release(self, client: str | None, now: float) -> None:
        if self.limit > 0 and client is not None:
            self.counter.add(client, now, -1)

    def limited(self, now: float) -> ApiError:
        return ApiError(
            429,
            "new_installation_limited",
            f"This address already registered {self.limit} new installations today; "
            "existing installations may still submit.",
            headers={"Retry-After": str(self.counter.retry_after(now))},
        )


class IngestQuota:
    """Submissions written per clock hour, across all clients; 0 switches it off.

    Held per worker process: each of `workers` processes takes an equal share of the quota.
    """

    def __init__(self, per_hour: int, workers: int = 1) -> None:
        self.per_hour = per_hour
        self.share = -(-per_hour // max(workers, 1)) if per_hour > 0 else 0
        self._hour = 0
        self._used = 0

    def take(self, now: float) -> None:
        """Take one unit of this hour's quota, or raise 429 with Retry-After (the next hour)."""
        if self.share <= 0:
            return
        hour = int(now // 3600)
        if hour != self._hour:
            self._hour, self._used = hour, 0
        if self._used >= self.share:
            raise ApiError(
                429,
                "ingest_quota_exceeded",
                "The receiver has taken all the submissions it accepts this hour; retry later.",
                headers={"Retry-After": str(max((hour + 1) * 3600 - int(now), 1))},
            )
        self._used += 1

    def give_back(self, now: float) -> None:
        if self.share > 0 and int(now // 3600) == self._hour and self._used > 0:
            self._used -= 1
