"""A database outage answers 503 with Retry-After, and the service recovers by itself."""

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from tests.payloads import load_payloads
from tests.postgres import set_connections_allowed
from tests.receiver.conftest import Api, assert_error, count, server_env
from tests.receiver_server import run_receiver

PAYLOAD = load_payloads("valid")["printernizer-1.0-example"]


@pytest.mark.postgres
async def test_outage_answers_503_and_recovers(tmp_path: Path, postgres_url: str) -> None:
    database_url = postgres_url
    # the summary comes from the rollups, refreshed before every answer here (interval 0)
    env = server_env(RECEIVER_ROLLUP_INTERVAL_SECONDS="0")
    with run_receiver(database_url, tmp_path, env) as receiver:
        api = Api(receiver, httpx.Client(timeout=30))
        assert api.submit(PAYLOAD).status_code == 200
        await set_connections_allowed(database_url, allowed=False)
        try:
            for response in (
                api.submit({**PAYLOAD}),
                api.http.get(f"{api.url}/ready"),
                api.stats(),
                api.delete(str(uuid.uuid4())),
            ):
                assert_error(response, 503, "database_unavailable")
                assert int(response.headers["Retry-After"]) > 0
            assert api.http.get(f"{api.url}/health").status_code == 200
        finally:
            await set_connections_allowed(database_url, allowed=True)
        await asyncio.sleep(0)
        assert api.http.get(f"{api.url}/ready").status_code == 200
        assert api.submit(PAYLOAD).status_code == 200
        assert api.stats().json()["submissions"] == 1
    assert await count(database_url, "submissions") == 1
