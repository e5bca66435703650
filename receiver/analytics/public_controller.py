"""GET /public/stats (no key): k-anonymous aggregates, computed at most once a minute per range
(AnalyticsService.public)."""

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import Parameter

from receiver.analytics.dependencies import StatsDependency, provide_stats
from receiver.analytics.public import K
from receiver.analytics.week_window import MAX_WEEKS, week_window


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
        return await stats.public(week_window(weeks, None, datetime.now(UTC)))
