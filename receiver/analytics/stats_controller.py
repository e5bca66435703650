"""GET /stats/overview, /installations, /versions, /deployment-modes, /countries, /printers,
/features, /jobs, /errors, /anomalies (admin keys only). Shapes: docs/receiver.md, "Analytics"."""

from typing import Any

from litestar import Controller, get
from litestar.di import Provide

from receiver.analytics.dependencies import (
    StatsDependency,
    WindowDependency,
    provide_stats,
    provide_window,
)

type Answer = dict[str, Any]


class StatsController(Controller):
    path = "/stats"
    tags = ["analytics"]  # noqa: RUF012 (Litestar reads class attributes)
    dependencies = {  # noqa: RUF012
        "stats": Provide(provide_stats, sync_to_thread=False),
        "window": Provide(provide_window, sync_to_thread=False),
    }

    @get("/overview", summary="The dashboard's top row in one call (admin key)")
    async def overview(self, stats: StatsDependency, window: WindowDependency) -> Answer:
        return await stats.overview(window)

    @get("/installations", summary="Installations: total, active, new, gone quiet, growth")
    async def installations(self, stats: StatsDependency, window: WindowDependency) -> Answer:
        return await stats.installations(window)

    @get("/versions", summary="Versions of active installations, newest, adoption per week")
    async def versions(self, stats: StatsDependency, window: WindowDependency) -> Answer:
        return await stats.versions(window)

    @get("/deployment-modes", summary="Deployment modes of active installations")
    async def deployment_modes(self, stats: StatsDependency, window: WindowDependency) -> Answer:
        return await stats.deployment_modes(window)

    @get("/countries", summary="Countries of active installations")
    async def countries(self, stats: StatsDependency, window: WindowDependency) -> Answer:
        return await stats.countries(window)

    @get("/printers", summary="Fleet sizes, printers by family and model")
    async def printers(self, stats: StatsDependency, window: WindowDependency) -> Answer:
        return await stats.printers(window)

    @get("/features", summary="Feature adoption among active installations")
    async def features(self, stats: StatsDependency, window: WindowDependency) -> Answer:
        return await stats.features(window)

    @get("/jobs", summary="Jobs by outcome, success rate, print hours, filament")
    async def jobs(self, stats: StatsDependency, window: WindowDependency) -> Answer:
        return await stats.jobs(window)

    @get("/errors", summary="Errors by type and code with the week-over-week change")
    async def errors(self, stats: StatsDependency, window: WindowDependency) -> Answer:
        return await stats.errors(window)

    @get("/anomalies", summary="Unusual weeks and versions, with severity and numbers")
    async def anomalies(self, stats: StatsDependency, window: WindowDependency) -> Answer:
        return await stats.anomalies(window)
