"""Abuse limits: client addresses behind trusted proxies, the limiters' memory, the separate bucket of
unauthenticated requests, new installations per address, the hourly quota, ISO weeks within an age,
the admin limit and its log line."""

import copy
import ipaddress
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from receiver.errors import ApiError
from receiver.ingest.validation import PeriodRules, decode_payload
from receiver.security.client_address import ClientAddresses, client_from_hops, forwarded_hops
from receiver.security.client_limit import ClientRateLimiter, IngestQuota, WindowCounter
from tests.payloads import load_payloads
from tests.receiver.conftest import (
    ADMIN_KEY,
    SUBMIT_KEY,
    assert_error,
    count,
    in_process,
    server_env,
)
from tests.receiver_server import run_receiver

PROXY = ClientAddresses((ipaddress.ip_network("10.0.0.0/8"),), "x-forwarded-for")
FARM = load_payloads("valid")["integration-1.1-farm"]
EXAMPLE = load_payloads("valid")["printernizer-1.0-example"]
JSON = {"Content-Type": "application/json", "X-API-Key": SUBMIT_KEY}


def for_installation(payload: dict[str, Any], installation_id: str | None = None) -> bytes:
    changed = copy.deepcopy(payload)
    changed["installation"]["installation_id"] = installation_id or str(uuid.uuid4())
    return json.dumps(changed).encode()


# --- client addresses -------------------------------------------------------------------------


def test_forwarded_for_is_ignored_from_an_untrusted_peer() -> None:
    assert PROXY.key("203.0.113.7", ["198.51.100.1"]) == "203.0.113.7"
    assert ClientAddresses((), "x-forwarded-for").key("10.0.0.1", ["198.51.100.1"]) == "10.0.0.1"


def test_the_right_most_untrusted_hop_is_the_client() -> None:
    # the client forged the left-most entry; our proxies (10.x) appended the rest
    hops = ["1.1.1.1, 198.51.100.9", "10.0.0.5"]
    assert PROXY.key("10.0.0.2", hops) == "198.51.100.9"
    assert PROXY.key("10.0.0.2", []) == "10.0.0.2"  # the proxy itself, no header


def test_forwarded_header_and_ports_and_ipv6() -> None:
    header = ['for=192.0.2.60;proto=https, for="[2001:db8:cafe::17]:4711"']
    assert forwarded_hops(header) == ["192.0.2.60", '"[2001:db8:cafe::17]:4711"']
    proxy = ClientAddresses((ipaddress.ip_network("10.0.0.0/8"),), "forwarded")
    assert proxy.key("10.1.2.3", header) == "2001:db8:cafe::/64"
    assert PROXY.key("10.1.2.3", ["192.0.2.60:5555"]) == "192.0.2.60"


def test_ipv6_clients_share_a_bucket_per_64() -> None:
    assert PROXY.key("2001:db8:1:2::1", []) == PROXY.key("2001:db8:1:2:ffff::9", [])
    assert PROXY.key("2001:db8:1:2::1", []) != PROXY.key("2001:db8:1:3::1", [])
    assert PROXY.key("::ffff:192.0.2.1", []) == "192.0.2.1"


def test_an_unreadable_hop_stops_at_the_trusted_proxy() -> None:
    trusted = (ipaddress.ip_network("10.0.0.0/8"),)
    peer = ipaddress.ip_address("10.0.0.2")
    assert str(client_from_hops(peer, ["198.51.100.1", "unknown"], trusted)) == "10.0.0.2"


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(tmp_path: Path) -> None:
    """Over real HTTP (peer 127.0.0.1): trusted, each X-Forwarded-For client is limited on its own;
    untrusted, the header is ignored and everyone shares the peer's bucket. (No database work:
    SQLite only.)"""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'receiver.db'}"
    limited = {"RECEIVER_CLIENT_RATE_LIMIT_PER_MINUTE": "2"}
    env = server_env(RECEIVER_TRUSTED_PROXIES="127.0.0.1/32", **limited)

    def statuses(url: str, client: str) -> list[int]:
        headers = {"X-API-Key": "wrong" * 8, "X-Forwarded-For": client}
        return [
            httpx.delete(f"{url}/installation/x", headers=headers).status_code for _ in range(3)
        ]

    with run_receiver(database_url, tmp_path, env) as receiver:
        assert statuses(receiver.url, "198.51.100.1") == [401, 401, 429]
        assert statuses(receiver.url, "198.51.100.2") == [401, 401, 429]
    with run_receiver(database_url, tmp_path, server_env(**limited)) as receiver:
        assert statuses(receiver.url, "198.51.100.1") == [401, 401, 429]
        assert statuses(receiver.url, "198.51.100.2") == [429, 429, 429]


# --- limiter memory ---------------------------------------------------------------------------


def test_stale_entries_are_dropped_and_the_table_is_bounded() -> None:
    counter = WindowCounter(60, max_entries=3)
    for key in ("a", "b", "c"):
        counter.add(key, now=0.0)
    counter.add("d", now=1.0)  # over the bound: the least recently used ("a") goes
    assert len(counter) == 3
    assert counter.count("a", now=1.0) == 0
    assert counter.count("b", now=1.0) == 1
    counter.add("e", now=61.0)  # a new window: every stale entry goes, nothing is wiped wholesale
    assert len(counter) == 1


def test_unauthenticated_requests_have_their_own_bucket() -> None:
    limiter = ClientRateLimiter(2)
    for _ in range(2):
        limiter.hit("a", now=0.0, authenticated=False)
    with pytest.raises(ApiError):
        limiter.hit("a", now=0.0, authenticated=False)
    limiter.hit("a", now=0.0)  # the authenticated budget is untouched
    limiter.hit("a", now=0.0)


async def test_a_flood_of_bad_keys_does_not_block_good_submissions(database_url: str) -> None:
    async with in_process(database_url, RECEIVER_CLIENT_RATE_LIMIT_PER_MINUTE="3") as client:
        bad = {**JSON, "X-API-Key": "x" * 40}
        answers = [
            (await client.post("/submit", content=b"{}", headers=bad)).status_code for _ in range(5)
        ]
        assert answers == [401, 401, 401, 429, 429]
        response = await client.post("/submit", content=for_installation(EXAMPLE), headers=JSON)
        assert response.status_code == 200, response.text


# --- made-up installation ids -----------------------------------------------------------------


async def test_new_installations_per_address_per_day(database_url: str) -> None:
    known = str(uuid.uuid4())
    cap = {"RECEIVER_NEW_INSTALLATIONS_PER_ADDRESS_PER_DAY": "2"}
    async with in_process(database_url, **cap) as client:
        assert (
            await client.post("/submit", content=for_installation(EXAMPLE, known), headers=JSON)
        ).status_code == 200
        assert (
            await client.post("/submit", content=for_installation(EXAMPLE), headers=JSON)
        ).status_code == 200
        refused = await client.post("/submit", content=for_installation(EXAMPLE), headers=JSON)
        error = assert_error(refused, 429, "new_installation_limited")
        assert "existing installations" in error["message"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 86_400
        # an installation already known keeps submitting
        again = copy.deepcopy(EXAMPLE)
        again["installation"]["installation_id"] = known
        again["usage_stats"]["job_count"] = 7
        assert (
            await client.post("/submit", content=json.dumps(again).encode(), headers=JSON)
        ).status_code == 200
    assert await count(database_url, "installations") == 2
    assert await count(database_url, "rate_limits") == 2


async def test_the_hourly_ingest_quota(database_url: str) -> None:
    async with in_process(database_url, RECEIVER_INGEST_QUOTA_PER_HOUR="2") as client:
        for _ in range(2):
            response = await client.post("/submit", content=for_installation(EXAMPLE), headers=JSON)
            assert response.status_code == 200
        refused = await client.post("/submit", content=for_installation(EXAMPLE), headers=JSON)
    assert_error(refused, 429, "ingest_quota_exceeded")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert await count(database_url, "submissions") == 2


def test_a_refused_submission_gives_its_quota_back() -> None:
    quota = IngestQuota(1)
    quota.take(0.0)
    quota.give_back(0.0)
    quota.take(1.0)
    with pytest.raises(ApiError):
        quota.take(2.0)
    quota.take(3600.0)  # the next hour
    assert IngestQuota(10, workers=4).share == 3


# --- schema 1.1 periods -----------------------------------------------------------------------

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def farm_period(start: datetime, end: datetime) -> bytes:
    payload = copy.deepcopy(FARM)
    payload["period"].update(start=start.isoformat(), end=end.isoformat())
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 17, tzinfo=UTC), "$.period.start"),
        (
            datetime(2026, 11, 9, 1, tzinfo=UTC),
            datetime(2026, 11, 16, 1, tzinfo=UTC),
            "$.period.start",
        ),
        (datetime(2026, 11, 9, tzinfo=UTC), datetime(2026, 11, 15, tzinfo=UTC), "$.period.end"),
        (datetime(2026, 11, 9, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC), "$.period.end"),
    ],
)
def test_1_1_periods_are_whole_iso_weeks(start: datetime, end: datetime, field: str) -> None:
    with pytest.raises(ApiError) as caught:
        decode_payload(farm_period(start, end), NOW)
    assert caught.value.details[0]["field"] == field


def test_1_1_monday_in_another_offset_is_the_same_week() -> None:
    start = datetime.fromisoformat("2026-11-09T01:00:00+01:00")
    valid = decode_payload(farm_period(start, start + timedelta(days=7)), NOW)
    assert valid.period_start == datetime(2026, 11, 9, tzinfo=UTC)


def test_periods_older_than_the_age_are_refused() -> None:
    rules = PeriodRules(max_age=timedelta(weeks=8))
    monday = datetime(2026, 9, 28, tzinfo=UTC)  # ended 2026-10-05, 7 weeks 3 days before NOW
    assert decode_payload(farm_period(monday, monday + timedelta(days=7)), NOW, rules)
    older = monday - timedelta(weeks=1)
    with pytest.raises(ApiError) as caught:
        decode_payload(farm_period(older, older + timedelta(days=7)), NOW, rules)
    assert caught.value.details == [{"field": "$.period.end", "problem": "older than 8 weeks"}]


# --- admin endpoints --------------------------------------------------------------------------


async def test_admin_endpoints_are_limited_and_refusals_logged_without_address(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with in_process(database_url, RECEIVER_ADMIN_RATE_LIMIT_PER_MINUTE="3") as client:
        assert (
            await client.get("/stats/summary", headers={"X-API-Key": ADMIN_KEY})
        ).status_code == 200
        assert_error(await client.get("/stats/summary", headers={"X-API-Key": "y" * 40}), 401)
        assert_error(await client.get("/metrics", headers={"X-API-Key": SUBMIT_KEY}), 403)
        limited = await client.get("/stats/summary", headers={"X-API-Key": ADMIN_KEY})
        assert_error(limited, 429, "admin_rate_limited")
        # submissions are not limited by the admin budget
        assert (
            await client.post("/submit", content=for_installation(EXAMPLE), headers=JSON)
        ).status_code == 200
    log = capsys.readouterr().err
    refusals = [json.loads(line) for line in log.splitlines() if "admin_key_refused" in line]
    assert [(r["route"], r["reason"]) for r in refusals] == [
        ("/stats/summary", "unknown_api_key"),
        ("/metrics", "not_an_admin_key"),
    ]
    assert "testclient" not in log
    assert "y" * 40 not in log
