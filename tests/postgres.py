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


def database_url_named(base_url: str, name: str) -> str:
    """The URL of database `name` on the server of `base_url`."""
    return (
        make_url(base_url)
        .set(drivername="postgresql+asyncpg", database=name)
        .render_as_string(hide_password=False)
    )


def create_database(base_url: str, name: str, template: str | None = None) -> str:
    """Create database `name` (a copy of `template` when given: much cheaper than migrating)."""
    copy = f' TEMPLATE "{template}"' if template is not None else ""
    asyncio.run(_execute(_admin_dsn(base_url), f'CREATE DATABASE "{name}"{copy}'))
    return database_url_named(base_url, name)


def drop_database(base_url: str, name: str) -> None:
    asyncio.run(_execute(_admin_dsn(base_url), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def temporary_database(base_url: str, name: str, template: str | None = None) -> Iterator[str]:
    """Create database `name` on the server of `base_url` (from `template` when given); drop it
    afterwards."""
    url = create_database(base_url, name, template)
    try:
        yield url
    finally:
        drop_database(base_url, name)


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
