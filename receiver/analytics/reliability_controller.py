"""GET /stats/reliability (admin keys only: the admin router's guard): jobs, success rate, hours and
errors per printer model."""

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import MediaType, Response, get
from litestar.di import Provide
from litestar.params import Parameter

from receiver.analytics.dependencies import StatsDependency, provide_stats
from receiver.analytics.reliability import MAX_WEEKS, week_range


@get(
    "/stats/reliability",
    summary="Reliability by printer family and model over ISO weeks (admin key)",
    description=(
        "Per (family, model): printer-weeks, jobs by outcome, success rate with a 95 % Wilson "
        "interval, print hours per printer-week, errors per 100 print hours and the top error "
        f"codes, over at most {MAX_WEEKS} ISO weeks. See docs/receiver.md."
    ),
    tags=["analytics"],
    dependencies={"stats": Provide(provide_stats, sync_to_thread=False)},
)
async def stats_reliability(
    stats: StatsDependency,
    since_week: Annotated[
        str | None, Parameter(description="First ISO week, e.g. 2026-W40 (default: 12 weeks)")
    ] = None,
    until_week: Annotated[
        str | None, Parameter(description="Last ISO week (default: the last complete week)")
    ] = None,
) -> Response[bytes]:
    weeks = week_range(since_week, until_week, datetime.now(UTC))
    return Response(
        msgspec.json.encode(await stats.reliability(weeks)),
        media_type=MediaType.JSON,
    )
