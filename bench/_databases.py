"""Throwaway databases for the benchmark and direct row counts."""

import asyncio
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class BenchDatabase:
    kind: str  # "sqlite" or "postgresql"
    url: str  # SQLAlchemy URL for the receiver
    sqlite_path: Path | None = None
    postgres_dsn: str | None = None

    def count_rows(self, table: str) -> int:
        if self.sqlite_path is not None:
            with sqlite3.connect(self.sqlite_path, timeout=30) as connection:
                row = connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()
                return int(row[0])
        assert self.postgres_dsn is not None
        return asyncio.run(_postgres_count(self.postgres_dsn, table))

    def postgres_pids(self) -> list[int]:
        """Backends of this database plus PostgreSQL's background processes (WAL writer, ...)."""
        assert self.postgres_dsn is not None
        return asyncio.run(_postgres_server_pids(self.postgres_dsn))


async def _postgres_server_pids(dsn: str) -> list[int]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "OR (datname IS NULL AND backend_type <> 'client backend')"
        )
        return [int(row["pid"]) for row in rows]
    finally:
        await connection.close()


async def _postgres_count(dsn: str, table: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval(f'SELECT count(*) FROM "{table}"'))
    finally:
        await connection.close()


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def postgres_unavailable_reason() -> str | None:
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {POSTGRES_ADMIN_DSN} unreachable: {type(exc).__name__}: {exc}"
    return None


@contextmanager
def sqlite_database(workdir: Path, copy_of: Path | None = None) -> Iterator[BenchDatabase]:
    """A new SQLite file in `workdir` (a copy of `copy_of` when given)."""
    path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
    if copy_of is not None:
        shutil.copyfile(copy_of, path)
    yield BenchDatabase("sqlite", f"sqlite+aiosqlite:///{path}", sqlite_path=path)


@contextmanager
def postgres_database(template: str | None = None) -> Iterator[BenchDatabase]:
    """A throwaway database (a copy of the template database `template` when given), dropped after."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    copied = f' TEMPLATE "{template}"' if template is not None else ""
    asyncio.run(_admin(f'CREATE DATABASE "{name}"{copied}'))
    try:
        yield BenchDatabase(
            "postgresql",
            f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
            postgres_dsn=f"postgresql://postgres@127.0.0.1:5432/{name}",
        )
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
