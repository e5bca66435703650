"""Analytics answers kept for a short time, keyed by the rollup watermark (in addition to the rollups:
an answer costs a few milliseconds, this makes repeated ones — a dashboard reloading, the overview and
the answers it is made of — cost nothing until the rollups change).

The key holds the watermark of the last refresh (`rollup_state`, shared by every worker): a refresh
sets a new one, so no answer outlives the rollups it was read from by more than the refresh interval.
The time limit bounds what depends on the clock besides the rollups (active in the last 7 / 30 days,
the current week of the anomalies). Per process, at most `SIZE` answers (the oldest go first).
"""

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

SIZE = 256


class AnswerCache:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._answers: OrderedDict[Hashable, tuple[float, dict[str, Any]]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    def get(self, key: Hashable) -> dict[str, Any] | None:
        found = self._answers.get(key)
        if found is None:
            return None
        stored_at, answer = found
        if self._clock() - stored_at >= self.seconds:
            del self._answers[key]
            return None
        return answer

    def put(self, key: Hashable, answer: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self._answers[key] = (self._clock(), answer)
        self._answers.move_to_end(key)
        while len(self._answers) > SIZE:
            self._answers.popitem(last=False)
