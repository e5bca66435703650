"""Receiver test helpers: the app in process or a real server process, keys, databases (a copy of a
template migrated once per test process) and direct database reads."""

import asyncio
import gzip
import json
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient, TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from receiver.app import create_app
from receiver.config import Settings, load_settings
from receiver.db.engine import create_engine
from receiver.db.schema_version import upgrade_to_head
from receiver.db.transactions import Database
from tests.conftest import POSTGRES_URL_VARIABLE, postgres_base_url
from tests.postgres import create_database, drop_database, temporary_database
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
def postgres_url(database_templates: Templates) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (for tests that need PostgreSQL itself)."""
    base = postgres_base_url()
    if base is None:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_URL_VARIABLE}")
    with database_templates.postgres_copy(base, None) as url:
        yield url


async def _migrate(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


class Templates:
    """Databases migrated to the schema head once per test process (each pytest-xdist worker has
    its own), copied for every test: a file copy on SQLite, `CREATE DATABASE … TEMPLATE` on
    PostgreSQL — far cheaper than running the migrations for each test."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._sqlite: Path | None = None
        self._postgres: str | None = None
        # a test's PostgreSQL database is dropped in the background (the next test need not wait),
        # and the next test's copy is made in the background while this one runs (a copy takes
        # ≈ 0.2 s of the server's time; tests would otherwise wait for each)
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-database")
        self._drops: list[Future[None]] = []
        self._creator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="create-database")
        self._next_copy: dict[tuple[str, str | None], Future[tuple[str, str]]] = {}

    def sqlite_copy(self, target: Path) -> str:
        if self._sqlite is None:
            template = self._directory / "template.db"
            asyncio.run(_migrate(f"sqlite+aiosqlite:///{template}"))
            # the last connection closed: the write-ahead log is checkpointed into the file
            assert not template.with_name("template.db-wal").exists()
            self._sqlite = template
        shutil.copyfile(self._sqlite, target)
        return f"sqlite+aiosqlite:///{target}"

    def postgres_template(self, base_url: str) -> str:
        if self._postgres is None:
            name = f"tpl_{uuid.uuid4().hex[:12]}"
            url = create_database(base_url, name)
            try:
                asyncio.run(_migrate(url))
            except BaseException:
                drop_database(base_url, name)
                raise
            self._postgres = name
        return self._postgres

    @contextmanager
    def postgres_copy(self, base_url: str, template: str | None) -> Iterator[str]:
        """A new database (a copy of `template`, or empty), dropped in the background after use;
        the next copy of the same kind is made meanwhile (one creator thread: never two copies of a
        template at once)."""
        key = (base_url, template)
        ready = self._next_copy.pop(key, None) or self._creator.submit(_new_copy, *key)
        name, url = ready.result()
        self._next_copy[key] = self._creator.submit(_new_copy, *key)
        try:
            yield url
        finally:
            self._drops.append(self._dropper.submit(drop_database, base_url, name))

    def close(self) -> None:
        for (base_url, _), spare in self._next_copy.items():
            name, _url = spare.result()
            self._drops.append(self._dropper.submit(drop_database, base_url, name))
        self._creator.shutdown(wait=True)
        self._dropper.shutdown(wait=True)
        for drop in self._drops:
            drop.result()  # a database left behind is an error of the run
        base = postgres_base_url()
        if self._postgres is not None and base is not None:
            drop_database(base, self._postgres)


def _new_copy(base_url: str, template: str | None) -> tuple[str, str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    return name, create_database(base_url, name, template)


@pytest.fixture(scope="session")
def database_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    templates = Templates(tmp_path_factory.mktemp("templates"))
    try:
        yield templates
    finally:
        templates.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, database_templates: Templates
) -> Iterator[str]:
    """A fresh database on SQLite and on PostgreSQL (skipped when not configured): at the schema
    head without rows (a copy of the migrated template), or empty for a test marked
    `empty_database` (the migration tests)."""
    empty = request.node.get_closest_marker("empty_database") is not None
    if request.param == "sqlite":
        target = tmp_path / "receiver.db"
        yield f"sqlite+aiosqlite:///{target}" if empty else database_templates.sqlite_copy(target)
        return
    base = postgres_base_url()
    if base is None:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_URL_VARIABLE} (.ci/run does)")
    template = None if empty else database_templates.postgres_template(base)
    with database_templates.postgres_copy(base, template) as url:
        yield url


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def module_database_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    database_templates: Templates,
) -> Iterator[str]:
    """Like `database_url`, once per module: for data seeded once and copied for each test
    (`database_copy`)."""
    if request.param == "sqlite":
        yield database_templates.sqlite_copy(tmp_path_factory.mktemp("module") / "receiver.db")
        return
    base = postgres_base_url()
    if base is None:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_URL_VARIABLE} (.ci/run does)")
    with database_templates.postgres_copy(base, database_templates.postgres_template(base)) as url:
        yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The receiver's database layer on `database_url` (at the schema head), for tests of the SQL
    below the HTTP API."""
    engine = create_engine(database_url, pool_size=2)
    await upgrade_to_head(engine)
    try:
        yield Database(engine)
    finally:
        await engine.dispose()


@contextmanager
def database_copy(source_url: str, directory: Path) -> Iterator[str]:
    """A copy of the database at `source_url` (nothing may be connected to it): a test gets the
    data a module seeded once, and changes only its own copy."""
    source = make_url(source_url)
    if source.get_backend_name() == "sqlite":
        assert source.database is not None
        target = directory / f"copy-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(source.database, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    base = postgres_base_url()
    assert base is not None
    with temporary_database(base, f"t_{uuid.uuid4().hex[:12]}", source.database) as url:
        yield url


@contextmanager
def app_client(database_url: str, **overrides: str) -> Iterator[TestClient[Any]]:
    """The app in this process behind a synchronous httpx client (Litestar's TestClient, relative
    URLs): for tests written against a server's URL whose process does not matter."""
    with TestClient(create_app(settings_for(database_url, **overrides))) as client:
        yield client
