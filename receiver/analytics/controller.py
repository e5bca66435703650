"""GET /stats/summary (admin keys only)."""

from typing import Any

import msgspec
from litestar import MediaType, Request, Response, get

from receiver.security.keys import KEY_HEADER, Capability
from receiver.services import services_of


@get("/stats/summary", summary="Totals for maintainers (admin key)", tags=["analytics"])
async def stats_summary(request: Request[Any, Any, Any]) -> Response[bytes]:
    services = services_of(request)
    services.keys.require(request.headers.get(KEY_HEADER), Capability.ADMIN)
    return Response(msgspec.json.encode(await services.stats.summary()), media_type=MediaType.JSON)
