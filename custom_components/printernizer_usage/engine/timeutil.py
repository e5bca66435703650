"""UTC time helpers: ISO weeks (Monday 00:00 UTC) and conversions used across the engine."""

from datetime import UTC, datetime, timedelta

WEEK = timedelta(days=7)
DAY_SECONDS = 86_400


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """`moment` as aware UTC (naive values are taken to be UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week containing `moment`."""
    day = as_utc(moment).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def iso_z(moment: datetime) -> str:
    """`2026-11-09T00:00:00Z` (whole seconds, UTC)."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_day(timestamp: float) -> int:
    """Days since 1970-01-01 (UTC) of a POSIX timestamp."""
    return int(timestamp // DAY_SECONDS)


def from_timestamp(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
