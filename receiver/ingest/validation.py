"""Turn request bytes into a validated payload, or a 400 that tells the client what is wrong."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import msgspec

from receiver.errors import ApiError
from receiver.ingest.breakdown import check_breakdown
from receiver.ingest.countries import is_country_code
from receiver.ingest.schema import (
    SUPPORTED_VERSIONS,
    Installation10,
    Payload10,
    Payload11,
    envelope_decoder,
    payload10_decoder,
    payload11_decoder,
)
from receiver.ingest.weeks import ONE_WEEK, monday_of

MAX_PERIOD = timedelta(days=31)
UNKNOWN_PLATFORM = "unknown"


@dataclass(frozen=True, slots=True)
class PeriodRules:
    """How far a period may lie ahead of our clock (a client clock running fast) and how old it may be.

    Settings: RECEIVER_CLOCK_TOLERANCE_MINUTES, RECEIVER_MAX_PERIOD_AGE_WEEKS.
    """

    clock_tolerance: timedelta = timedelta(minutes=60)
    max_age: timedelta | None = None  # the server passes RECEIVER_MAX_PERIOD_AGE_WEEKS


@dataclass(frozen=True, slots=True)
class ValidPayload:
    payload: Payload10 | Payload11
    schema_version: str
    installation_id: str
    period_start: datetime
    period_end: datetime


def _invalid(message: str, details: list[dict[str, str]] | None = None) -> ApiError:
    return ApiError(400, "invalid_payload", message, details or [])


def _unsupported(version: str) -> ApiError:
    return ApiError(
        400,
        "unsupported_schema_version",
        f"schema_version {version!r} is not supported; supported versions: "
        f"{', '.join(SUPPORTED_VERSIONS)} (1.0 may be written 1.0.x; a later 1.x such as 1.4 is "
        "read as 1.1)",
        [{"field": "$.schema_version", "problem": f"supported: {', '.join(SUPPORTED_VERSIONS)}"}],
    )


def _version_major(body: bytes) -> str | None:
    try:
        return envelope_decoder.decode(body).schema_version
    except msgspec.MsgspecError:
        return None


def _is_supported(version: str) -> bool:
    """1.<minor> or 1.<minor>.<patch> (ASCII digits)."""
    parts = version.split(".")
    return (
        parts[0] == "1"
        and len(parts) in (2, 3)
        and all(part.isascii() and part.isdigit() for part in parts[1:])
    )


def _is_1_0(version: str) -> bool:
    return int(version.split(".")[1]) == 0


def _validation_details(error: msgspec.ValidationError) -> list[dict[str, str]]:
    problem, _, where = str(error).partition(" - at `")
    return [{"field": where.rstrip("`") or "$", "problem": problem}]


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def check_country(country_code: str) -> None:
    if not is_country_code(country_code):
        raise _invalid(
            f"country_code {country_code!r} is not an ISO 3166-1 alpha-2 code (use 'XX' when unknown)",
            [{"field": "$.installation.country_code", "problem": "not an ISO 3166-1 alpha-2 code"}],
        )


def check_period_order(start: datetime, end: datetime) -> None:
    if end <= start:
        raise _invalid(
            "period.end must be after period.start",
            [{"field": "$.period.end", "problem": "not after period.start"}],
        )


def check_period_length(start: datetime, end: datetime) -> None:
    if end - start > MAX_PERIOD:
        raise _invalid(
            "the period must not be longer than 31 days",
            [{"field": "$.period", "problem": "longer than 31 days"}],
        )


def check_not_in_future(end: datetime, now: datetime, rules: PeriodRules) -> None:
    if end > now + rules.clock_tolerance:
        minutes = int(rules.clock_tolerance.total_seconds() // 60)
        raise _invalid(
            f"period.end lies more than {minutes} minutes ahead of the receiver's clock; submit a "
            "period only after it has ended (and check the sending machine's clock)",
            [{"field": "$.period.end", "problem": "in the future"}],
        )


def check_not_too_old(end: datetime, now: datetime, rules: PeriodRules) -> None:
    if rules.max_age is not None and end < now - rules.max_age:
        weeks = rules.max_age.days // 7
        raise _invalid(
            f"the period ended more than {weeks} weeks ago; only recent periods are accepted",
            [{"field": "$.period.end", "problem": f"older than {weeks} weeks"}],
        )


def check_whole_iso_week(start: datetime, end: datetime) -> None:
    """Schema 1.1 covers exactly one ISO week: Monday 00:00 UTC to the next Monday 00:00 UTC."""
    if start != datetime.combine(monday_of(start.date()), time.min, tzinfo=UTC):
        raise _invalid(
            "schema 1.1 periods are whole ISO weeks: period.start must be a Monday 00:00 UTC",
            [{"field": "$.period.start", "problem": "not a Monday 00:00 UTC"}],
        )
    if end - start != ONE_WEEK:
        raise _invalid(
            "schema 1.1 periods are whole ISO weeks: period.end must be 7 days after period.start",
            [{"field": "$.period.end", "problem": "not 7 days after period.start"}],
        )


def normalise_platform(installation: Installation10) -> None:
    """The upstream 1.0 client sends `platform.system().lower()`, which can be empty."""
    if not installation.platform:
        installation.platform = UNKNOWN_PLATFORM


DEFAULT_RULES = PeriodRules()


def decode_payload(body: bytes, now: datetime, rules: PeriodRules = DEFAULT_RULES) -> ValidPayload:
    """Decode and validate; raises ApiError(400) naming the first problem."""
    try:
        payload: Payload10 | Payload11 = payload11_decoder.decode(body)
    except msgspec.ValidationError as error:
        version = _version_major(body)
        if version is not None and not _is_supported(version):
            raise _unsupported(version) from None
        raise _invalid(
            f"The payload does not match the schema: {error}", _validation_details(error)
        ) from None
    except msgspec.DecodeError as error:
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {error}") from None
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "The body is not valid UTF-8 JSON.") from None
    except RecursionError:
        raise ApiError(400, "invalid_payload", "The JSON is nested too deeply.") from None

    version = payload.schema_version
    if not _is_supported(version):
        raise _unsupported(version)
    if _is_1_0(version):
        payload = payload10_decoder.decode(body)

    installation = payload.installation
    check_country(installation.country_code)
    normalise_platform(installation)
    start = _as_utc(payload.period.start)
    end = _as_utc(payload.period.end)
    check_period_order(start, end)
    check_period_length(start, end)
    check_not_in_future(end, now, rules)
    check_not_too_old(end, now, rules)
    if isinstance(payload, Payload11):
        check_whole_iso_week(start, end)
        check_breakdown(payload)
    return ValidPayload(
        payload=payload,
        schema_version="1.0" if _is_1_0(version) else "1.1",
        installation_id=str(installation.installation_id),
        period_start=start,
        period_end=end,
    )
