"""Pure parts of GET /stats/export: the query parameters and one exported line per submission."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import msgspec

from receiver.errors import ApiError

DEFAULT_LIMIT = 10_000
MAX_LIMIT = 100_000

# Exported as stored; the submissions table holds no secret (its hash lives on `installations`).
EXPORTED_COLUMNS = (
    "installation_id",
    "period_start",
    "period_end",
    "received_at",
    "schema_version",
    "country_code",
    "deployment_mode",
    "data_source",
    "printer_count",
    "job_count",
    "aggregate",
)


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Submissions whose period starts in [since, until) (UTC), at most `limit` of them."""

    since: datetime | None
    until: datetime | None
    limit: int


def _bad_parameter(name: str, problem: str, message: str) -> ApiError:
    return ApiError(
        400, "invalid_parameter", message, [{"field": f"query.{name}", "problem": problem}]
    )


def _parse_date(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _bad_parameter(
            name, "not an ISO date", f"{name} must be an ISO date like 2026-11-09"
        ) from None


def _parse_limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    digits = value.isascii() and value.isdigit() and len(value) <= len(str(MAX_LIMIT))
    if not digits or not 1 <= int(value) <= MAX_LIMIT:
        raise _bad_parameter(
            "limit",
            "not an integer between 1 and 100000",
            f"limit must be an integer between 1 and {MAX_LIMIT}",
        )
    return int(value)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def export_filter(since: str | None, until: str | None, limit: str | None) -> ExportFilter:
    """Validate the query parameters; `until` is inclusive (the whole day)."""
    since_day = _parse_date("since", since)
    until_day = _parse_date("until", until)
    if since_day is not None and until_day is not None and until_day < since_day:
        raise _bad_parameter("until", "before since", "until must not be before since")
    return ExportFilter(
        since=None if since_day is None else _start_of(since_day),
        until=None if until_day is None else _start_of(until_day + timedelta(days=1)),
        limit=_parse_limit(limit),
    )


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def export_line(row: dict[str, Any]) -> bytes:
    line = {name: row[name] for name in EXPORTED_COLUMNS}
    for name in ("period_start", "period_end", "received_at"):
        line[name] = _utc(line[name])
    return msgspec.json.encode(line) + b"\n"
