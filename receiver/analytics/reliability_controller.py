"""GET /stats/reliability (admin keys only): jobs, success rate, hours and errors per printer model."""

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import MediaType, Request, Response, get
from litestar.params import Parameter

from receiver.analytics.reliability import MAX_WEEKS, week_range
from receiver.security.keys import KEY_HEADER, Capability
from receiver.services import services_of


@get(
    "/stats/reliability",
    summary="Reliability by printer family and model over ISO weeks (admin key)",
    description=(
        "Per (family, model): printer-weeks, jobs by outcome, success rate with a 95 % Wilson "
        "interval, print hours per printer-week, errors per 100 print hours and the top error "
        f"codes, over at most {MAX_WEEKS} ISO weeks. See docs/receiver.md."
    ),
    tags=["analytics"],
)
async def stats_reliability(
    request: Request[Any, Any, Any],
    since_week: Annotated[
        str | None, Parameter(description="First ISO week, e.g. 2026-W40 (default: 12 weeks)")
    ] = None,
    until_week: Annotated[
        str | None, Parameter(description="Last ISO week (default: the last complete week)")
    ] = None,
) -> Response[bytes]:
    services = services_of(request)
    services.keys.require(request.headers.get(KEY_HEADER), Capability.ADMIN)
    weeks = week_range(since_week, until_week, datetime.now(UTC))
    return Response(
        msgspec.json.encode(await services.stats.reliability(weeks)),
        media_type=MediaType.JSON,
    )
