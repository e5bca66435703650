"""Every body the upstream schema-1.0 client really builds is stored; its quirks are read as documented
(docs/payload.md, "Schema 1.0 as real clients send it")."""

import copy
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from receiver.errors import ApiError
from receiver.ingest.validation import PeriodRules, decode_payload
from tests.payloads import load_payloads
from tests.receiver.conftest import SUBMIT_KEY, assert_error, count, in_process, query

UPSTREAM = load_payloads("upstream-1.0")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
JSON = {"Content-Type": "application/json"}


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def test_the_upstream_bodies_are_all_here() -> None:
    assert len(UPSTREAM) == 6
    assert {p["schema_version"] for p in UPSTREAM.values()} == {"1.0", "1.0.0"}


def test_every_upstream_body_decodes_as_1_0() -> None:
    for name, payload in UPSTREAM.items():
        valid = decode_payload(body(payload), NOW)
        assert valid.schema_version == "1.0", name
        assert valid.period_end.tzinfo is UTC, name
        assert valid.payload.installation.platform, name


def test_space_separated_naive_timestamps_are_utc_with_microseconds() -> None:
    valid = decode_payload(body(UPSTREAM["upstream-1.0-addon-str-datetime"]), NOW)
    assert valid.period_end == datetime(2026, 11, 16, 3, 17, 42, 512344, tzinfo=UTC)


def test_empty_platform_becomes_unknown() -> None:
    valid = decode_payload(body(UPSTREAM["edge-refused-empty-platform"]), NOW)
    assert valid.payload.installation.platform == "unknown"


@pytest.mark.parametrize("version", ["1.0.0", "1.0.7", "1.0"])
def test_1_0_x_is_read_as_1_0(version: str) -> None:
    payload = {**UPSTREAM["upstream-1.0-addon-mode-json"], "schema_version": version}
    assert decode_payload(body(payload), NOW).schema_version == "1.0"


@pytest.mark.parametrize("version", ["1.0.0.0", "2.0.0", "1.x", "1"])
def test_other_versions_are_refused_with_a_message_that_names_1_0_x(version: str) -> None:
    payload = {**UPSTREAM["upstream-1.0-addon-mode-json"], "schema_version": version}
    with pytest.raises(ApiError) as caught:
        decode_payload(body(payload), NOW)
    assert caught.value.code == "unsupported_schema_version"
    assert "1.0.x" in caught.value.message
    assert "any 1.x is read as 1.1" not in caught.value.message


def test_a_clock_a_few_minutes_fast_is_accepted_every_time() -> None:
    """The 1.0 window ends at the client's now; a clock 15 minutes fast must not be refused on
    every hourly retry for ever."""
    payload = copy.deepcopy(UPSTREAM["upstream-1.0-addon-mode-json"])
    fast = NOW + timedelta(minutes=15)
    payload["period"]["start"] = (fast - timedelta(days=7)).replace(tzinfo=None).isoformat()
    payload["period"]["end"] = fast.replace(tzinfo=None).isoformat()
    assert decode_payload(body(payload), NOW, PeriodRules()).period_end == fast


async def test_every_upstream_body_is_stored_over_http(database_url: str) -> None:
    async with in_process(database_url) as client:
        for name, payload in UPSTREAM.items():
            response = await client.post(
                "/submit", content=body(payload), headers={**JSON, "X-API-Key": SUBMIT_KEY}
            )
            assert response.status_code == 200, f"{name}: {response.text}"
    # the two add-on bodies are the same installation and window, written two ways
    assert await count(database_url, "submissions") == len(UPSTREAM) - 1
    rows = await query(database_url, "SELECT DISTINCT schema_version FROM submissions")
    assert rows == [("1.0",)]
    platforms = await query(
        database_url,
        "SELECT platform FROM installations WHERE installation_id = :id",
        id=UPSTREAM["edge-refused-empty-platform"]["installation"]["installation_id"],
    )
    assert platforms == [("unknown",)]


async def test_rolling_windows_are_attributed_to_the_week_of_their_end(database_url: str) -> None:
    """Overlapping 1.0 windows of one installation in one week share one attributed week."""
    payload = copy.deepcopy(UPSTREAM["upstream-1.0-addon-mode-json"])
    ends = [datetime(2026, 11, 17, 3, 0), datetime(2026, 11, 19, 9, 30), datetime(2026, 11, 23, 1)]
    async with in_process(database_url) as client:
        for end in ends:
            payload["period"]["start"] = (end - timedelta(days=7)).isoformat(sep=" ")
            payload["period"]["end"] = end.isoformat(sep=" ")
            response = await client.post(
                "/submit", content=body(payload), headers={**JSON, "X-API-Key": SUBMIT_KEY}
            )
            assert response.status_code == 200, response.text
    rows = await query(database_url, "SELECT week_start FROM submissions ORDER BY period_end")
    assert [str(row[0]) for row in rows] == [
        str(date(2026, 11, 16)),
        str(date(2026, 11, 16)),
        str(date(2026, 11, 23)),
    ]


async def test_keyless_1_0_only_when_switched_on_and_never_1_1(database_url: str) -> None:
    upstream = body(UPSTREAM["upstream-1.0-large-counts-pi"])
    farm = body(load_payloads("valid")["integration-1.1-farm"])
    async with in_process(database_url) as client:
        # default: the upstream client's empty key is refused (and it stops, as 401 tells it)
        assert_error(
            await client.post("/submit", content=upstream, headers={**JSON, "X-API-Key": ""}),
            401,
            "missing_api_key",
        )
    async with in_process(database_url, RECEIVER_ACCEPT_KEYLESS_V1="1") as client:
        for headers in ({**JSON, "X-API-Key": ""}, JSON):
            response = await client.post("/submit", content=upstream, headers=headers)
            assert response.status_code == 200, response.text
        assert_error(
            await client.post("/submit", content=farm, headers={**JSON, "X-API-Key": ""}),
            401,
            "missing_api_key",
        )
        assert_error(
            await client.post("/submit", content=upstream, headers={**JSON, "X-API-Key": "x" * 40}),
            401,
            "unknown_api_key",
        )
    assert await count(database_url, "submissions") == 1
