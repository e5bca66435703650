"""Turn request bytes into a validated payload, or a 400 that tells the client what is wrong."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec

from receiver.errors import ApiError
from receiver.ingest.breakdown import check_breakdown
from receiver.ingest.countries import is_country_code
from receiver.ingest.schema import (
    SUPPORTED_VERSIONS,
    Payload10,
    Payload11,
    envelope_decoder,
    payload10_decoder,
    payload11_decoder,
)

MAX_PERIOD = timedelta(days=31)
CLOCK_SKEW = timedelta(minutes=10)


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
        f"{', '.join(SUPPORTED_VERSIONS)} (any 1.x is read as 1.1)",
        [{"field": "$.schema_version", "problem": f"supported: {', '.join(SUPPORTED_VERSIONS)}"}],
    )


def _version_major(body: bytes) -> str | None:
    try:
        return envelope_decoder.decode(body).schema_version
    except msgspec.MsgspecError:
        return None


def _is_supported(version: str) -> bool:
    major, _, minor = version.partition(".")
    return major == "1" and minor.isdigit()


def _validation_details(error: msgspec.ValidationError) -> list[dict[str, str]]:
    problem, _, where = str(error).partition(" - at `")
    return [{"field": where.rstrip("`") or "$", "problem": problem}]


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def decode_payload(body: bytes, now: datetime) -> ValidPayload:
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
    if version == "1.0":
        payload = payload10_decoder.decode(body)

    installation = payload.installation
    if not is_country_code(installation.country_code):
        raise _invalid(
            f"country_code {installation.country_code!r} is not an ISO 3166-1 alpha-2 code "
            "(use 'XX' when unknown)",
            [{"field": "$.installation.country_code", "problem": "not an ISO 3166-1 alpha-2 code"}],
        )
    start = _as_utc(payload.period.start)
    end = _as_utc(payload.period.end)
    if end <= start:
        raise _invalid(
            "period.end must be after period.start",
            [{"field": "$.period.end", "problem": "not after period.start"}],
        )
    if end - start > MAX_PERIOD:
        raise _invalid(
            "the period must not be longer than 31 days",
            [{"field": "$.period", "problem": "longer than 31 days"}],
        )
    if end > now + CLOCK_SKEW:
        raise _invalid(
            "period.end lies in the future; submit a period only after it has ended",
            [{"field": "$.period.end", "problem": "in the future"}],
        )
    if isinstance(payload, Payload11):
        check_breakdown(payload)
    return ValidPayload(
        payload=payload,
        schema_version=version if version == "1.0" else "1.1",
        installation_id=str(installation.installation_id),
        period_start=start,
        period_end=end,
    )
