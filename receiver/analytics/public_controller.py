"""GET /public/stats (no key): k-anonymous aggregates, cached for a minute per range so anyone may
ask as often as they like without costing the database more than one computation a minute."""

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import Parameter

from receiver.analytics.dependencies import StatsDependency, provide_stats
from receiver.analytics.public import K
from receiver.analytics.week_window import MAX_WEEKS, week_window

CACHE_SECONDS = 60.0


class PublicStatsController(Controller):
    path = "/public"
    tags = ["public"]  # noqa: RUF012 (Litestar reads class attributes)
    dependencies = {"stats": Provide(provide_stats, sync_to_thread=False)}  # noqa: RUF012

    @get(
        "/stats",
        summary="Public aggregates (no key)",
        description=(
            f"Only aggregates over active installations; no bucket of fewer than {K} "
            "installations is revealed. See docs/receiver.md."
        ),
        cache_control=None,
    )
    async def public_stats(
        self,
        stats: StatsDependency,
        weeks: Annotated[
            str | None, Parameter(description=f"Weeks of the series, 1 … {MAX_WEEKS} (default 12)")
        ] = None,
    ) -> dict[str, Any]:
        window = week_window(weeks, None, datetime.now(UTC))
        key = window.weeks
        now = time.monotonic()
        cached = stats.public_answers.get(key)
        if (
            cached is not None
            and now - cached[0] < CACHE_SECONDS
            and cached[1].get("until_week") == window.header()["until_week"]
        ):
            return cached[1]
        answer = await stats.public(window)
        stats.public_answers[key] = (now, answer)
        return answer
