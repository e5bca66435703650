"""Idempotent periods and the per-installation rate limit, exact under concurrency."""

import asyncio
import copy
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.payloads import load_payloads
from tests.receiver.conftest import (
    SUBMIT_KEY,
    Api,
    assert_error,
    count,
    in_process,
    query,
    server_env,
)
from tests.receiver_server import run_receiver

BASE = load_payloads("valid")["integration-1.1-farm"]


def weekly(installation_id: str, week: int) -> dict[str, Any]:
    """The base payload for `installation_id`, covering the `week`-th week before 2026-11-16."""
    payload = copy.deepcopy(BASE)
    end = datetime(2026, 11, 16, tzinfo=UTC) - timedelta(weeks=week)
    payload["installation"]["installation_id"] = installation_id
    payload["period"]["start"] = (end - timedelta(days=7)).isoformat()
    payload["period"]["end"] = end.isoformat()
    return payload


async def test_resending_a_period_replaces_it(api: Api, database_url: str) -> None:
    installation_id = str(uuid.uuid4())
    first = weekly(installation_id, 0)
    assert api.submit(first).status_code == 200
    second = copy.deepcopy(first)
    second["usage_stats"]["job_count"] = 99
    assert api.submit(second, compress=True).status_code == 200
    rows = await query(database_url, "SELECT job_count FROM submissions")
    assert rows == [(99,)]
    # the same period written as +00:00 instead of Z is the same period
    third = copy.deepcopy(second)
    third["period"]["start"] = "2026-11-09T00:00:00+00:00"
    assert api.submit(third).status_code == 200
    assert await count(database_url, "submissions") == 1


async def test_latest_state_follows_the_newest_period(api: Api, database_url: str) -> None:
    installation_id = str(uuid.uuid4())
    newest = weekly(installation_id, 0)
    newest["printer_fleet"]["printer_count"] = 7
    older = weekly(installation_id, 3)
    older["printer_fleet"]["printer_count"] = 2
    assert api.submit(newest).status_code == 200
    assert api.submit(older).status_code == 200
    rows = await query(
        database_url,
        "SELECT printer_count FROM installations WHERE installation_id = :id",
        id=installation_id,
    )
    assert rows == [(7,)]
    assert await count(database_url, "submissions") == 2


async def test_eleventh_submission_in_an_hour_is_refused(api: Api, database_url: str) -> None:
    installation_id = str(uuid.uuid4())
    for week in range(10):
        assert api.submit(weekly(installation_id, week)).status_code == 200
    response = api.submit(weekly(installation_id, 10))
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
    assert await count(database_url, "submissions") == 10
    # another installation is not affected
    assert api.submit(weekly(str(uuid.uuid4()), 0)).status_code == 200


async def _burst(urls: list[str], installation_id: str, attempts: int) -> list[int]:
    async with httpx.AsyncClient(timeout=60) as client:

        async def one(index: int) -> int:
            response = await client.post(
                f"{urls[index % len(urls)]}/submit",
                json=weekly(installation_id, index),
                headers={"X-API-Key": SUBMIT_KEY},
            )
            return response.status_code

        return list(await asyncio.gather(*(one(index) for index in range(attempts))))


async def test_fifty_simultaneous_submissions_store_exactly_the_limit(database_url: str) -> None:
    """Fifty at once into one app (in process: the requests interleave on its event loop); across
    processes, the next two tests."""
    installation_id = str(uuid.uuid4())
    async with in_process(database_url) as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    "/submit",
                    json=weekly(installation_id, index),
                    headers={"X-API-Key": SUBMIT_KEY},
                )
                for index in range(50)
            )
        )
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == 10
    assert statuses.count(429) == 40
    assert await count(database_url, "submissions") == 10


async def test_limit_is_exact_across_two_server_processes(
    database_url: str, tmp_path: Path
) -> None:
    env = server_env()
    with (
        run_receiver(database_url, tmp_path, env) as first,
        run_receiver(database_url, tmp_path, env) as second,
    ):
        statuses = await _burst([first.url, second.url], str(uuid.uuid4()), 50)
    assert statuses.count(200) == 10
    assert statuses.count(429) == 40
    assert await count(database_url, "submissions") == 10


async def test_workers_option_shares_the_limit(database_url: str, tmp_path: Path) -> None:
    with run_receiver(database_url, tmp_path, server_env(), workers=2) as receiver:
        statuses = await _burst([receiver.url], str(uuid.uuid4()), 30)
    assert statuses.count(200) == 10
    assert statuses.count(429) == 20
    assert await count(database_url, "submissions") == 10
