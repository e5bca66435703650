"""Build a report (its document) for a period; used by the CLI and the schedule."""

from datetime import date, datetime

from receiver.analytics.service import AnalyticsService
from receiver.config import ReportPeriod
from receiver.reports.content import report_content
from receiver.reports.document import Document, report_document
from receiver.reports.periods import ReportRange, report_range


async def build_report(
    stats: AnalyticsService, kind: ReportPeriod, now: datetime, at: date | None = None
) -> tuple[ReportRange, Document]:
    report = report_range(kind, now, at)
    return report, report_document(await report_content(stats, report))
