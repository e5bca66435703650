"""ISO weeks: which week a stored window counts for, and whether a period is one whole week."""

from datetime import UTC, date, datetime, timedelta

ONE_WEEK = timedelta(days=7)
_LAST_INSTANT = timedelta(microseconds=1)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def attributed_week(period_end: datetime) -> date:
    """The Monday of the ISO week holding the window's last instant (period_end is exclusive).

    A whole Monday-to-Monday week counts for the week it covers; a schema-1.0 rolling 7-day window
    counts for the week its end falls in, so one installation's overlapping 1.0 windows of the same
    week share one week (analytics count each installation at most once per week).
    """
    return monday_of((period_end.astimezone(UTC) - _LAST_INSTANT).date())
