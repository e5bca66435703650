"""GET /stats/export (admin keys only: the admin router's guard): stored submissions as JSON Lines,
read page by page."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import get
from litestar.params import Parameter
from litestar.response import Stream

from receiver.analytics.export import ExportFilter, export_filter, export_line
from receiver.analytics.repository import AnalyticsRepository
from receiver.services import ServicesDependency

PAGE_SIZE = 1000
NDJSON = "application/x-ndjson"


async def _lines(
    analytics: AnalyticsRepository, export: ExportFilter, first: list[tuple[int, dict[str, Any]]]
) -> AsyncIterator[bytes]:
    page, sent = first, 0
    while page:
        chunk = page[: export.limit - sent]
        yield b"".join(export_line(row) for _, row in chunk)
        sent += len(chunk)
        if sent >= export.limit or len(page) < PAGE_SIZE:
            return
        page = await analytics.export_page(export, page[-1][0], PAGE_SIZE)


@get(
    "/stats/export",
    summary="Stored weekly submissions as JSON Lines (admin key)",
    tags=["analytics"],
    media_type=NDJSON,
)
async def stats_export(
    services: ServicesDependency,
    since: Annotated[
        str | None, Parameter(description="ISO date; periods starting on or after it")
    ] = None,
    until: Annotated[
        str | None, Parameter(description="ISO date; periods starting on or before it")
    ] = None,
    limit: Annotated[
        str | None, Parameter(description="At most this many lines (default 10000, max 100000)")
    ] = None,
) -> Stream:
    export = export_filter(since, until, limit)
    # The first page is read before the answer starts, so an unreachable database still gets 503.
    first = await services.analytics.export_page(export, 0, PAGE_SIZE)
    return Stream(_lines(services.analytics, export, first), media_type=NDJSON)
