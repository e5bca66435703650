"""Rules that need no server: body limits, validation details, keys and the per-address limit."""

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from receiver.config import SettingsError, load_settings
from receiver.errors import ApiError
from receiver.ingest.body import check_content_type, decode_content
from receiver.ingest.validation import PeriodRules, decode_payload
from receiver.security.client_limit import ClientRateLimiter
from receiver.security.keys import Capability, KeyRing
from tests.payloads import load_payloads
from tests.receiver.conftest import SUBMIT_KEY, assert_error, in_process

NOW = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)
MINIMAL = load_payloads("valid")["printernizer-1.0-minimal"]


def encoded(**period: str) -> bytes:
    payload = json.loads(json.dumps(MINIMAL))
    payload["period"].update(period)
    return json.dumps(payload).encode()


def test_gzip_output_is_cut_at_the_cap() -> None:
    bomb = gzip.compress(b"0" * 20_000_000)
    with pytest.raises(ApiError) as caught:
        decode_content(bomb, "gzip", 65536)
    assert caught.value.status == 413


def test_gzip_within_the_cap_is_decoded() -> None:
    assert decode_content(gzip.compress(b"{}"), "GZIP", 65536) == b"{}"
    assert decode_content(b"{}", None, 65536) == b"{}"


def test_content_type_parameters_are_allowed() -> None:
    check_content_type("application/json; charset=utf-8")
    with pytest.raises(ApiError):
        check_content_type("application/jsonx")


def test_naive_datetimes_are_read_as_utc() -> None:
    valid = decode_payload(encoded(start="2026-11-09T00:00:00", end="2026-11-16T00:00:00"), NOW)
    assert valid.period_start == datetime(2026, 11, 9, tzinfo=UTC)
    assert valid.schema_version == "1.0"


def test_period_end_may_be_ahead_of_our_clock_by_the_tolerance_only() -> None:
    """A 1.0 client's window ends at *its* now: a clock up to the tolerance fast is accepted on every
    try; beyond it, refused with a message that names the clock."""
    rules = PeriodRules(clock_tolerance=timedelta(minutes=60))
    almost = (NOW + timedelta(minutes=59)).isoformat()
    assert decode_payload(encoded(start="2026-11-09T06:00:00Z", end=almost), NOW, rules)
    too_far = (NOW + timedelta(minutes=61)).isoformat()
    with pytest.raises(ApiError) as caught:
        decode_payload(encoded(start="2026-11-09T06:00:00Z", end=too_far), NOW, rules)
    assert caught.value.details == [{"field": "$.period.end", "problem": "in the future"}]
    assert "clock" in caught.value.message


def test_keys_have_distinct_capabilities() -> None:
    ring = KeyRing(("s1" * 10, "s2" * 10), ("a1" * 10,))
    assert ring.capability("s2" * 10) is Capability.SUBMIT
    assert ring.capability("a1" * 10) is Capability.ADMIN
    with pytest.raises(ApiError) as caught:
        ring.require("s1" * 10, Capability.ADMIN)
    assert caught.value.status == 403
    with pytest.raises(ApiError) as caught:
        ring.capability("a1" * 9)
    assert caught.value.status == 401


def test_client_limiter_counts_per_address_and_minute() -> None:
    limiter = ClientRateLimiter(2)
    limiter.hit("a", now=60.0)
    limiter.hit("a", now=61.0)
    limiter.hit("b", now=61.0)
    with pytest.raises(ApiError) as caught:
        limiter.hit("a", now=62.0)
    assert caught.value.headers["Retry-After"] == "58"
    limiter.hit("a", now=120.0)


def test_settings_reject_bad_numbers(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="RECEIVER_RATE_LIMIT_PER_HOUR"):
        load_settings({"RECEIVER_RATE_LIMIT_PER_HOUR": "ten"}, tmp_path / ".env")
    with pytest.raises(SettingsError, match="RECEIVER_ENVIRONMENT"):
        load_settings({"RECEIVER_ENVIRONMENT": "staging"}, tmp_path / ".env")


def test_settings_come_from_env_file_and_environment(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("RECEIVER_RATE_LIMIT_PER_HOUR=5\nRECEIVER_SUBMIT_KEYS=a, b\n")
    settings = load_settings({"RECEIVER_RATE_LIMIT_PER_HOUR": "7"}, env_file)
    assert settings.rate_limit_per_hour == 7
    assert settings.submit_keys == ("a", "b")
    assert settings.environment == "production"
    assert settings.cors_origins == ()


async def test_per_address_limit_over_http(database_url: str) -> None:
    headers = {"X-API-Key": SUBMIT_KEY}
    async with in_process(database_url, RECEIVER_CLIENT_RATE_LIMIT_PER_MINUTE="3") as client:
        statuses = [
            (await client.post("/submit", json=MINIMAL, headers=headers)).status_code
            for _ in range(3)
        ]
        limited = await client.post("/submit", json=MINIMAL, headers=headers)
    assert statuses == [200, 200, 200]
    assert_error(limited, 429, "client_rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1


async def test_cors_is_closed_by_default_and_opens_for_listed_origins(database_url: str) -> None:
    preflight = {
        "Origin": "https://stats.example.org",
        "Access-Control-Request-Method": "GET",
    }
    async with in_process(database_url) as client:
        closed = await client.get("/health", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    async with in_process(
        database_url, RECEIVER_CORS_ORIGINS="https://stats.example.org"
    ) as client:
        opened = await client.get("/health", headers=preflight)
    assert opened.headers["access-control-allow-origin"] == "https://stats.example.org"
