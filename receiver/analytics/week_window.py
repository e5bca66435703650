"""The `weeks` / `until_week` query parameters of the analytics endpoints: a bounded range of ISO weeks."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from receiver.analytics.reliability import iso_week, parse_week
from receiver.errors import ApiError

MIN_WEEKS = 1
MAX_WEEKS = 156  # three years
DEFAULT_WEEKS = 12
ACTIVE_WEEKS = (
    4  # "active installations": counted in one of the 4 weeks ending with the range (≈ 30 days)
)
WEEK = timedelta(weeks=1)
EARLIEST_WEEK = date(
    2000, 1, 3
)  # 2000-W01: nothing was sent before; keeps date arithmetic in range


@dataclass(frozen=True, slots=True)
class WeekWindow:
    """`weeks` ISO weeks ending with `until` (each given by its Monday)."""

    until: date
    weeks: int

    @property
    def since(self) -> date:
        return self.until - (self.weeks - 1) * WEEK

    @property
    def active_since(self) -> date:
        """First week of the active window: the `ACTIVE_WEEKS` weeks ending with `until`."""
        return self.until - (ACTIVE_WEEKS - 1) * WEEK

    @property
    def previous(self) -> date:
        return self.until - WEEK

    def mondays(self) -> list[date]:
        return [self.since + index * WEEK for index in range(self.weeks)]

    def header(self) -> dict[str, object]:
        return {
            "since_week": iso_week(self.since),
            "until_week": iso_week(self.until),
            "weeks": self.weeks,
        }


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _bad(name: str, problem: str, message: str) -> ApiError:
    return ApiError(
        400, "invalid_parameter", message, [{"field": f"query.{name}", "problem": problem}]
    )


def parse_weeks(value: str | None, default: int = DEFAULT_WEEKS) -> int:
    if value is None:
        return default
    digits = value.isascii() and value.isdigit() and len(value) <= 3
    if not digits or not MIN_WEEKS <= int(value) <= MAX_WEEKS:
        raise _bad(
            "weeks",
            f"not an integer between {MIN_WEEKS} and {MAX_WEEKS}",
            f"weeks must be an integer between {MIN_WEEKS} and {MAX_WEEKS}",
        )
    return int(value)


def week_window(weeks: str | None, until_week: str | None, now: datetime) -> WeekWindow:
    """Validate the query: by default the `DEFAULT_WEEKS` weeks up to the last complete one; the
    range may not end after the current week."""
    this_monday = monday_of(now.date())
    until = this_monday - WEEK if until_week is None else parse_week("until_week", until_week)
    if not EARLIEST_WEEK <= until <= this_monday:
        raise _bad(
            "until_week",
            "before 2000-W01 or after the current week",
            "until_week must lie between 2000-W01 and the current week",
        )
    return WeekWindow(until=until, weeks=parse_weeks(weeks))
