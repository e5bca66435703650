"""GET /stats/export/aggregates (JSON or CSV) and GET /stats/export/raw (JSON Lines with pseudonymised
installation ids), admin keys only."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import Stream

from receiver.analytics.aggregate_export import aggregate_rows, to_csv
from receiver.analytics.dependencies import (
    StatsDependency,
    WindowDependency,
    provide_stats,
    provide_window,
)
from receiver.analytics.export import ExportFilter, export_filter, export_line
from receiver.analytics.export_controller import NDJSON, PAGE_SIZE
from receiver.analytics.pseudonym import Pseudonymiser
from receiver.analytics.repository import AnalyticsRepository
from receiver.errors import ApiError
from receiver.services import ServicesDependency

CSV = "text/csv; charset=utf-8"


def _format(value: str | None) -> str:
    if value in (None, "json", "csv"):
        return value or "json"
    raise ApiError(
        400,
        "invalid_parameter",
        "format must be json or csv",
        [{"field": "query.format", "problem": "not json or csv"}],
    )


async def _pseudonymised_lines(
    analytics: AnalyticsRepository,
    export: ExportFilter,
    first: list[tuple[int, dict[str, Any]]],
    pseudonymiser: Pseudonymiser,
) -> AsyncIterator[bytes]:
    page, sent = first, 0
    while page:
        chunk = page[: export.limit - sent]
        yield b"".join(export_line(pseudonymiser.line(row)) for _, row in chunk)
        sent += len(chunk)
        if sent >= export.limit or len(page) < PAGE_SIZE:
            return
        page = await analytics.export_page(export, page[-1][0], PAGE_SIZE)


class ExportController(Controller):
    path = "/stats/export"
    tags = ["analytics"]  # noqa: RUF012 (Litestar reads class attributes)

    @get(
        "/aggregates",
        summary="The weekly aggregates as JSON or CSV (admin key)",
        dependencies={
            "stats": Provide(provide_stats, sync_to_thread=False),
            "window": Provide(provide_window, sync_to_thread=False),
        },
    )
    async def aggregates(
        self,
        stats: StatsDependency,
        window: WindowDependency,
        format: Annotated[str | None, Parameter(description="json (default) or csv")] = None,
    ) -> Response[Any]:
        kind = _format(format)
        rows = aggregate_rows(await stats.everything(window))
        if kind == "csv":
            name = f"aggregates-{window.header()['until_week']}-{window.weeks}w.csv"
            return Response(
                to_csv(rows),
                media_type=CSV,
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        return Response(
            {**window.header(), "columns": ["week", "metric", "key", "value"], "rows": rows}
        )

    @get(
        "/raw",
        summary="Stored submissions, installation ids pseudonymised (admin key)",
        media_type=NDJSON,
    )
    async def raw(
        self,
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
        first = await services.analytics.export_page(export, 0, PAGE_SIZE)
        pseudonymiser = Pseudonymiser(services.settings.export_pseudonym_key)
        return Stream(
            _pseudonymised_lines(services.analytics, export, first, pseudonymiser),
            media_type=NDJSON,
        )
