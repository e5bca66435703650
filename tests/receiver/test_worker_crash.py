"""A worker SIGKILLed while its group-commit batches are in flight: every submission answered 2xx is
stored, none twice after the clients' retries (PostgreSQL, 2 workers, real processes)."""

import asyncio
import json
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.payloads import load_payloads
from tests.receiver.conftest import SUBMIT_KEY, query, server_env
from tests.receiver_server import run_receiver

EXAMPLE = load_payloads("valid")["printernizer-1.0-example"]
SUBMISSIONS = 400
CONCURRENCY = 64
MAX_TRIES = 40


def _workers(pid: int) -> list[int]:
    """The server's worker processes (not multiprocessing's resource tracker)."""
    children = [
        int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    ]
    return [
        child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def _body(installation_id: str) -> bytes:
    payload = json.loads(json.dumps(EXAMPLE))
    payload["installation"]["installation_id"] = installation_id
    return json.dumps(payload).encode()


async def _submit_until_stored(
    client: httpx.AsyncClient, url: str, installation_id: str, answers: dict[str, int]
) -> None:
    """As a real client: retry on a lost connection or a 5xx, until 200."""
    for _ in range(MAX_TRIES):
        try:
            response = await client.post(
                f"{url}/submit",
                content=_body(installation_id),
                headers={"Content-Type": "application/json", "X-API-Key": SUBMIT_KEY},
            )
        except httpx.TransportError:
            await asyncio.sleep(0.2)
            continue
        answers[installation_id] = response.status_code
        if response.status_code < 500:
            return
        await asyncio.sleep(0.2)


def _gone(pid: int) -> bool:
    """The process has exited (a zombie until its parent reaps it counts as gone)."""
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "State:\tZ" in status.read_text()


async def _reaped(pid: int) -> bool:
    for _ in range(50):
        if _gone(pid):
            return True
        await asyncio.sleep(0.05)
    return False


async def _waiting_batches(connection: asyncpg.Connection, database: str) -> int:
    count: int = await connection.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
        database,
    )
    return count


@pytest.mark.postgres
async def test_sigkill_during_group_commit_loses_and_doubles_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
    database = str(make_url(postgres_url).database)
    env = server_env(RECEIVER_RATE_LIMIT_PER_HOUR="1000")
    ids = [str(uuid.uuid4()) for _ in range(SUBMISSIONS)]
    answers: dict[str, int] = {}
    with run_receiver(postgres_url, tmp_path, env, workers=2) as receiver:
        workers = _workers(receiver.process.pid)
        assert len(workers) >= 2, workers
        blocker: Any = await asyncpg.connect(dsn)
        try:
            # Hold the ingest statement's first write: batches queue up inside PostgreSQL.
            transaction = blocker.transaction()
            await transaction.start()
            await blocker.execute("LOCK TABLE rate_limits IN SHARE MODE")
            limits = httpx.Limits(max_connections=CONCURRENCY)
            async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                clients = [
                    asyncio.create_task(_submit_until_stored(client, receiver.url, i, answers))
                    for i in ids
                ]
                for _ in range(200):
                    if await _waiting_batches(blocker, database) >= 2:
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(1.5)  # every worker's queue fills up behind the lock
                in_flight = await _waiting_batches(blocker, database)
                os.kill(workers[0], signal.SIGKILL)
                killed = await _reaped(workers[0])
                await asyncio.sleep(0.5)
                await transaction.commit()  # the dead worker's batches run now, unanswered
                await asyncio.gather(*clients)
        finally:
            await blocker.close()
    assert killed
    assert in_flight >= 2, "no group-commit batch was in flight when the worker was killed"
    ok = {installation_id for installation_id, status in answers.items() if status == 200}
    assert ok == set(ids), set(answers.values())
    rows = await query(
        postgres_url,
        "SELECT installation_id, count(*) FROM submissions GROUP BY installation_id",
    )
    stored = dict(rows)
    assert set(stored) == ok  # every 2xx is stored
    assert set(stored.values()) == {1}  # none twice
