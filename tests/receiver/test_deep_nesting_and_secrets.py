"""Bodies nested as deep as the size cap allows get a 400 at every validation stage, never a 500;
a database error never logs an installation id, a secret hash or payload values."""

import gzip
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Request
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError

from receiver.db.engine import create_engine
from receiver.db.schema_version import ensure_schema
from receiver.db.tables import installations
from receiver.errors import handle_unexpected
from receiver.ingest.postgres_writer import PARAMETER_ORDER, PostgresIngestWriter
from tests.payloads import load_payloads
from tests.receiver.conftest import SUBMIT_KEY, assert_error, count, in_process

CAP = 65536
VALID_10 = json.dumps(load_payloads("valid")["printernizer-1.0-example"]).encode()


def deepest(prefix: bytes, suffix: bytes = b"}") -> bytes:
    """`prefix` + the deepest array nesting that keeps the whole body within the cap + `suffix`."""
    depth = (CAP - len(prefix) - len(suffix)) // 2
    return prefix + b"[" * depth + b"]" * depth + suffix


STAGES = {
    "not an object": deepest(b"", b""),
    "no schema_version (invalid envelope)": deepest(b'{"x":'),
    "schema_version itself": deepest(b'{"schema_version":'),
    "unsupported version": deepest(b'{"schema_version":"7.0","x":'),
    "1.0 envelope, nothing else": deepest(b'{"schema_version":"1.0","x":'),
    "1.0.0 envelope, nothing else": deepest(b'{"x":', b',"schema_version":"1.0.0"}'),
    "1.1 envelope, nothing else": deepest(b'{"schema_version":"1.1","x":'),
    "schema 1.0, in a known field": deepest(
        b'{"schema_version":"1.0","error_summary":{"a":', b"}}"
    ),
    "schema 1.1, in a known field": deepest(b'{"schema_version":"1.1","usage_by_model":'),
    "schema 1.1, in a nested struct": deepest(
        b'{"schema_version":"1.1","installation":{"installation_id":', b"}}"
    ),
    "objects instead of arrays": b'{"schema_version":"1.0","x":'
    + b'{"a":' * 10_000
    + b"1"
    + b"}" * 10_001,
}


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
async def test_deep_nesting_is_a_400_at_every_stage(database_url: str, compress: bool) -> None:
    headers = {"Content-Type": "application/json", "X-API-Key": SUBMIT_KEY}
    if compress:
        headers["Content-Encoding"] = "gzip"
    async with in_process(database_url) as client:
        for name, body in STAGES.items():
            assert len(body) <= CAP, name
            sent = gzip.compress(body) if compress else body
            response = await client.post("/submit", content=sent, headers=headers)
            assert_error(response, 400)
            assert response.status_code == 400, f"{name}: {response.text}"
        # A complete valid body with a deep *unknown* field is stored: unknown fields are skipped
        # (never stored), however they are nested.
        body = deepest(VALID_10[:-1] + b',"x":')
        response = await client.post(
            "/submit", content=gzip.compress(body) if compress else body, headers=headers
        )
        assert response.status_code == 200, response.text
    assert await count(database_url, "submissions") == 1


def _log_of(error: BaseException, capsys: pytest.CaptureFixture[str]) -> str:
    from receiver.logs import configure_logging  # noqa: PLC0415

    capsys.readouterr()
    configure_logging("INFO")
    scope: Any = {"type": "http", "method": "POST", "path": "/submit", "headers": [], "app": None}
    response = handle_unexpected(Request(scope), error)  # type: ignore[arg-type]
    assert response.status_code == 500
    return capsys.readouterr().err


async def test_database_errors_are_logged_without_values(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """hide_parameters=True keeps SQLAlchemy from quoting parameters; PostgreSQL's own DETAIL
    ("Failing row contains (…)") still quotes the row, so the log gets only type and SQLSTATE."""
    engine = create_engine(database_url)
    secret = "f" * 64
    installation_id = str(uuid.uuid4())
    try:
        await ensure_schema(engine, may_upgrade=True)
        with pytest.raises(DBAPIError) as caught:
            async with engine.begin() as connection:
                # NOT NULL violation: every other column is missing
                await connection.execute(
                    insert(installations).values(
                        installation_id=installation_id, secret_hash=secret
                    )
                )
    finally:
        await engine.dispose()
    assert "SQL parameters hidden due to hide_parameters=True" in str(caught.value)
    log = _log_of(caught.value, capsys)
    assert "database_error" in log
    for value in (installation_id, installation_id[:8], secret):
        assert value not in log


async def test_a_failed_ingest_statement_logs_no_values(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """asyncpg's own messages quote the offending value ("invalid input for query argument $n:
    …"); the writer's errors reach the log only as type and SQLSTATE."""
    engine = create_engine(postgres_url)
    await ensure_schema(engine, may_upgrade=True)
    await engine.dispose()
    writer = PostgresIngestWriter(postgres_url, pool_size=1)
    await writer.open()
    installation_id = str(uuid.uuid4())
    secret = "e" * 64
    now = datetime.now(UTC)
    parameters: dict[str, Any] = dict.fromkeys(PARAMETER_ORDER)
    parameters.update(
        installation_id=installation_id,
        secret_hash=secret,
        now=now,
        period_start=now,
        period_end=now,
        week_start=now.date(),
        schema_version="1.0",
        printer_count=2**40 + 12345,  # does not fit PostgreSQL's integer
        job_count=0,
        printer_type_counts="{}",
        aggregate="{}",
        window_start=0,
        limit=10,
        may_create=True,
    )
    try:
        with pytest.raises(Exception) as caught:
            await writer.ingest(parameters)
    finally:
        await writer.close()
    assert str(2**40 + 12345) in str(caught.value)  # what asyncpg would have logged
    log = _log_of(caught.value, capsys)
    assert "database_error" in log
    for value in (installation_id, installation_id[:8], secret, str(2**40 + 12345)):
        assert value not in log
