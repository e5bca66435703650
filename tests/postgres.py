"""Throwaway PostgreSQL databases for tests."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from sqlalchemy.engine import make_url


def _admin_dsn(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


async def _execute(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def temporary_database(base_url: str, name: str) -> Iterator[str]:
    """Create database `name` on the server of `base_url`; drop it afterwards."""
    dsn = _admin_dsn(base_url)
    asyncio.run(_execute(dsn, f'CREATE DATABASE "{name}"'))
    try:
        yield (
            make_url(base_url)
            .set(drivername="postgresql+asyncpg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        asyncio.run(_execute(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def set_connections_allowed(database_url: str, allowed: bool) -> None:
    """Simulate an outage of one database (and its end) without touching the shared server:
    refuse new connections and terminate the open ones."""
    url = make_url(database_url)
    name = url.database or ""
    dsn = _admin_dsn(url.set(database="postgres").render_as_string(hide_password=False))
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}'
        )
        if not allowed:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
    finally:
        await connection.close()
