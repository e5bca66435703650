"""The numbers of one report: the analytics answers for its weeks, read through the same service
methods as the API (so every figure equals what `GET /stats/…` answers for the stated range)."""

from dataclasses import dataclass
from typing import Any

from receiver.analytics.service import AnalyticsService
from receiver.reports.periods import ReportRange

TOP = 10


@dataclass(frozen=True, slots=True)
class ReportContent:
    range: ReportRange
    answers: dict[str, dict[str, Any]]  # the period's answers (`everything`)
    trend: dict[str, Any]  # GET /stats/installations over the trend weeks


async def report_content(stats: AnalyticsService, report: ReportRange) -> ReportContent:
    answers = await stats.everything(report.period)
    trend = await stats.installations(report.trend)
    return ReportContent(report, answers, trend)
