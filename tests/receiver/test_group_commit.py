"""PostgreSQL group commit: one batch, per-item answers; a refused item fails only its own request."""

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from receiver.db.engine import create_engine
from receiver.db.schema_version import ensure_schema
from receiver.db.transactions import Database
from receiver.ingest.postgres_writer import PARAMETER_ORDER, PostgresIngestWriter
from receiver.ingest.service import IngestService
from receiver.ingest.validation import decode_payload
from tests.payloads import load_payloads
from tests.receiver.conftest import count

EXAMPLE = load_payloads("valid")["printernizer-1.0-example"]


def payload_for(installation_id: str) -> bytes:
    payload = json.loads(json.dumps(EXAMPLE))
    payload["installation"]["installation_id"] = installation_id
    return json.dumps(payload).encode()


def refused_by_the_database() -> dict[str, Any]:
    """Parameters the statement cannot take: printer_count does not fit PostgreSQL's integer."""
    parameters: dict[str, Any] = dict.fromkeys(PARAMETER_ORDER)
    now = datetime.now(UTC)
    parameters.update(
        installation_id=str(uuid.uuid4()),
        now=now,
        period_start=now,
        period_end=now,
        schema_version="1.0",
        printer_count=2**40,
        job_count=0,
        printer_type_counts="{}",
        aggregate="{}",
        window_start=0,
        limit=10,
    )
    return parameters


async def test_a_refused_item_fails_alone_and_the_rest_of_its_batch_is_stored(
    postgres_url: str,
) -> None:
    engine = create_engine(postgres_url)
    await ensure_schema(engine, may_upgrade=True)
    writer = PostgresIngestWriter(postgres_url, pool_size=2)
    await writer.open()
    service = IngestService(Database(engine), rate_limit_per_hour=10, postgres_writer=writer)
    now = datetime.now(UTC)
    good = [decode_payload(payload_for(str(uuid.uuid4())), now) for _ in range(20)]
    try:
        results = await asyncio.gather(
            *(service.store(valid, None, now) for valid in good[:10]),
            writer.ingest(refused_by_the_database()),
            *(service.store(valid, None, now) for valid in good[10:]),
            return_exceptions=True,
        )
    finally:
        await writer.close()
        await engine.dispose()
    refused = results.pop(10)
    assert isinstance(refused, Exception)
    assert results == ["stored"] * 20
    assert await count(postgres_url, "submissions") == 20
    assert await count(postgres_url, "installations") == 20


async def test_closing_answers_every_queued_submission(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    await ensure_schema(engine, may_upgrade=True)
    writer = PostgresIngestWriter(postgres_url, pool_size=1)
    await writer.open()
    service = IngestService(Database(engine), rate_limit_per_hour=10, postgres_writer=writer)
    now = datetime.now(UTC)
    pending = [
        asyncio.ensure_future(
            service.store(decode_payload(payload_for(str(uuid.uuid4())), now), None, now)
        )
        for _ in range(30)
    ]
    await asyncio.sleep(0)  # queued, not yet written
    await writer.close()
    await engine.dispose()
    assert [task.done() and task.result() == "stored" for task in pending] == [True] * 30
    assert await count(postgres_url, "submissions") == 30
