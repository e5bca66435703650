"""Litestar dependencies of the analytics controllers: the service, and the validated week range."""

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import Parameter

from receiver.analytics.service import AnalyticsService
from receiver.analytics.week_window import MAX_WEEKS, WeekWindow, week_window
from receiver.services import services_of


def provide_stats(request: Request[Any, Any, Any]) -> AnalyticsService:
    stats: AnalyticsService = services_of(request).stats
    return stats


def provide_window(
    weeks: Annotated[
        str | None,
        Parameter(description=f"ISO weeks in the range, 1 … {MAX_WEEKS} (default 12)"),
    ] = None,
    until_week: Annotated[
        str | None,
        Parameter(description="Last ISO week of the range, e.g. 2026-W46 (default: last complete)"),
    ] = None,
) -> WeekWindow:
    return week_window(weeks, until_week, datetime.now(UTC))


# How handlers declare them (Litestar 3 no longer infers a dependency from a parameter name).
StatsDependency = NamedDependency[AnalyticsService]
WindowDependency = NamedDependency[WeekWindow]
