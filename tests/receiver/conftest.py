"""Receiver test helpers: a real server process per test, keys, and direct database reads."""

import gzip
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient, TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from receiver.app import create_app
from receiver.config import Settings, load_settings
from tests.receiver_server import RunningReceiver, run_receiver

SUBMIT_KEY = "test-submit-key-0123456789abcdef"
ADMIN_KEY = "test-admin-key-0123456789abcdefgh"


def server_env(**overrides: str) -> dict[str, str]:
    """The receiver's settings in tests: every abuse limit off unless a test switches it on, and
    the example payloads' fixed November 2026 periods stay within the accepted age."""
    return {
        "RECEIVER_ENVIRONMENT": "development",
        "RECEIVER_SUBMIT_KEYS": SUBMIT_KEY,
        "RECEIVER_ADMIN_KEYS": ADMIN_KEY,
        "RECEIVER_CLIENT_RATE_LIMIT_PER_MINUTE": "0",
        "RECEIVER_ADMIN_RATE_LIMIT_PER_MINUTE": "0",
        "RECEIVER_NEW_INSTALLATIONS_PER_ADDRESS_PER_DAY": "0",
        "RECEIVER_INGEST_QUOTA_PER_HOUR": "0",
        "RECEIVER_MAX_PERIOD_AGE_WEEKS": "5200",
        **overrides,
    }


@asynccontextmanager
async def in_process(database_url: str, **overrides: str) -> AsyncIterator[AsyncTestClient[Any]]:
    """The app in this process (Litestar's AsyncTestClient): for tests of HTTP shape and rules; a
    subprocess server (`run_receiver`) only where the process matters."""
    async with AsyncTestClient(create_app(settings_for(database_url, **overrides))) as client:
        yield client


@dataclass
class Api:
    """A thin client for the receiver under test: in process (`receiver` None, relative URLs) or a
    real server process."""

    receiver: RunningReceiver | None
    http: httpx.Client

    @property
    def url(self) -> str:
        return "" if self.receiver is None else self.receiver.url

    def submit(
        self,
        payload: Any,
        *,
        key: str | None = SUBMIT_KEY,
        secret: str | None = None,
        compress: bool = False,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent = {"Content-Type": "application/json"}
        if key is not None:
            sent["X-API-Key"] = key
        if secret is not None:
            sent["X-Installation-Secret"] = secret
        if compress:
            body = gzip.compress(body)
            sent["Content-Encoding"] = "gzip"
        sent.update(headers or {})
        return self.http.post(f"{self.url}/submit", content=body, headers=sent)

    def delete(
        self, installation_id: str, *, key: str = SUBMIT_KEY, secret: str | None = None
    ) -> httpx.Response:
        headers = {"X-API-Key": key}
        if secret is not None:
            headers["X-Installation-Secret"] = secret
        return self.http.delete(f"{self.url}/installation/{installation_id}", headers=headers)

    def stats(self, key: str | None = ADMIN_KEY) -> httpx.Response:
        headers = {} if key is None else {"X-API-Key": key}
        return self.http.get(f"{self.url}/stats/summary", headers=headers)


def settings_for(database_url: str, **overrides: str) -> Settings:
    return load_settings(
        {**server_env(**overrides), "RECEIVER_DATABASE_URL": database_url}, Path("/nonexistent")
    )


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    """The app in this process (Litestar's TestClient): HTTP shape and rules, no server start-up."""
    with TestClient(create_app(settings_for(database_url)), raise_server_exceptions=False) as http:
        yield Api(None, http)


@pytest.fixture
def server_api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    """A real server process, for what needs one (logs, concurrency over real sockets)."""
    with (
        run_receiver(database_url, tmp_path, server_env()) as receiver,
        httpx.Client(timeout=30) as http,
    ):
        yield Api(receiver, http)


async def query(database_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(sql), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


async def count(database_url: str, table: str) -> int:
    rows = await query(database_url, f"SELECT count(*) FROM {table}")
    return int(rows[0][0])


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["status"] == status
    assert isinstance(error["message"], str)
    assert error["message"]
    assert "Traceback" not in response.text
    if code is not None:
        assert error["code"] == code, error
    return error


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database only (for tests that need PostgreSQL itself)."""
    from tests.conftest import postgres_base_url  # noqa: PLC0415
    from tests.postgres import temporary_database  # noqa: PLC0415

    base = postgres_base_url()
    if base is None:
        pytest.skip("PostgreSQL not configured: set PRINTERNIZER_TEST_POSTGRES_URL")
    with temporary_database(base, f"t_{uuid.uuid4().hex[:12]}") as url:
        yield url
