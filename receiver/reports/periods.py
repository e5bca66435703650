"""Pure: which ISO weeks a weekly or monthly report covers, and the trend shown with it.

Weekly: the last complete ISO week. Monthly: the ISO weeks whose Monday lies in the previous calendar
month (for a month still running: its complete weeks so far). Each report also shows installations over a longer trend ending with the same week.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from receiver.analytics.reliability import iso_week
from receiver.analytics.week_window import WEEK, WeekWindow, monday_of
from receiver.config import ReportPeriod

TREND_WEEKS = {"weekly": 8, "monthly": 26}


@dataclass(frozen=True, slots=True)
class ReportRange:
    kind: ReportPeriod
    label: str  # "2026-W47" or "2026-10": names the report (and keys it in the sent log)
    period: WeekWindow  # jobs, errors, anomalies: over these weeks
    trend: WeekWindow  # installations per week: the trend ending with the period

    def api_query(self, window: WeekWindow) -> str:
        return f"until_week={iso_week(window.until)}&weeks={window.weeks}"


class NoCompleteWeek(ValueError):
    """The month asked for has no complete ISO week yet."""


def _previous_month(day: date) -> tuple[date, date]:
    first_this = day.replace(day=1)
    last_previous = first_this - timedelta(days=1)
    return last_previous.replace(day=1), last_previous


def _month_of(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def report_range(kind: ReportPeriod, now: datetime, at: date | None = None) -> ReportRange:
    """The report of `kind` due at `now`, or — with `at` — the one of the week (weekly) or the month
    (monthly) holding `at`."""
    if kind == "weekly":
        until = monday_of(at) if at is not None else monday_of(now.date()) - WEEK
        label = iso_week(until)
        period = WeekWindow(until=until, weeks=1)
    else:
        first, last = _month_of(at) if at is not None else _previous_month(now.date())
        last_complete = monday_of(now.date()) - WEEK
        mondays = [
            first + timedelta(days=offset)
            for offset in range((last - first).days + 1)
            if (first + timedelta(days=offset)).weekday() == 0
            and first + timedelta(days=offset) <= last_complete
        ]
        if not mondays:
            raise NoCompleteWeek(f"{first:%Y-%m} has no complete ISO week yet")
        label = f"{first.year:04d}-{first.month:02d}"
        period = WeekWindow(until=mondays[-1], weeks=len(mondays))
    trend = WeekWindow(until=period.until, weeks=TREND_WEEKS[kind])
    return ReportRange(kind, label, period, trend)
