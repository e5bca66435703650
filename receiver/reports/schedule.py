"""Pure: when a report becomes due — the weekly one on `RECEIVER_REPORT_WEEKDAY` after its week, the
monthly one on `RECEIVER_REPORT_MONTH_DAY` of the following month, at `RECEIVER_REPORT_HOUR` UTC."""

from datetime import UTC, datetime, time, timedelta

from receiver.analytics.week_window import WEEK
from receiver.config import ReportSettings
from receiver.reports.periods import ReportRange


def due_at(report: ReportRange, settings: ReportSettings) -> datetime:
    at_hour = time(hour=settings.hour, tzinfo=UTC)
    if report.kind == "weekly":
        week_end = report.period.until + WEEK  # the Monday after the reported week
        return datetime.combine(week_end + timedelta(days=settings.weekday - 1), at_hour)
    year, month = (int(part) for part in report.label.split("-"))
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC).date()
    return datetime.combine(following + timedelta(days=settings.month_day - 1), at_hour)
