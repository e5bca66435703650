"""GET /stats/summary (admin keys only: the admin router's guard)."""

import msgspec
from litestar import MediaType, Response, get
from litestar.di import Provide

from receiver.analytics.dependencies import StatsDependency, provide_stats


@get(
    "/stats/summary",
    summary="Totals for maintainers (admin key)",
    tags=["analytics"],
    dependencies={"stats": Provide(provide_stats, sync_to_thread=False)},
)
async def stats_summary(stats: StatsDependency) -> Response[bytes]:
    return Response(msgspec.json.encode(await stats.summary()), media_type=MediaType.JSON)
