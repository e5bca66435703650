"""The PostgreSQL hot path: the one-statement ingest executed on a plain asyncpg pool.

SQLAlchemy's per-execute work (pool events, parameter processing, result wrapping, greenlet hops) cost
more CPU than the statement itself; this path skips it. Everything else uses SQLAlchemy.
"""

import re
from collections.abc import Mapping
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from receiver.db.engine import CONNECT_TIMEOUT_SECONDS
from receiver.errors import DatabaseUnavailable
from receiver.ingest.postgres_statement import INGEST_STATEMENT

_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")


def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """`:name` placeholders → `$n` (asyncpg), with the parameter order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAMETER.sub(number, sql), tuple(names)


SQL, PARAMETER_ORDER = _positional(INGEST_STATEMENT.text)


def _is_connection_error(error: BaseException) -> bool:
    if isinstance(
        error,
        OSError
        | asyncpg.InterfaceError
        | asyncpg.InternalClientError
        | asyncpg.PostgresConnectionError,
    ):
        return True
    sqlstate = str(getattr(error, "sqlstate", "") or "")
    return sqlstate.startswith(("08", "53", "57P"))


class PostgresIngestWriter:
    def __init__(self, database_url: str, pool_size: int) -> None:
        self._dsn = (
            make_url(database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self._dsn,
            min_size=1,
            max_size=self._pool_size,
            timeout=CONNECT_TIMEOUT_SECONDS,
            command_timeout=30,
            max_inactive_connection_lifetime=300,
            server_settings={"idle_in_transaction_session_timeout": "60000"},
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def ingest(self, parameters: Mapping[str, Any]) -> tuple[bool, bool, bool]:
        """(owner ok, counted in the rate limit, stored); one round trip, autocommit."""
        assert self._pool is not None, "open() first"
        arguments = [parameters[name] for name in PARAMETER_ORDER]
        for attempt in (1, 2):
            try:
                connection = await self._pool.acquire()
            except Exception as error:
                raise DatabaseUnavailable() from error
            try:
                row = await connection.fetchrow(SQL, *arguments)
            except Exception as error:
                if not _is_connection_error(error):
                    await self._pool.release(connection)
                    raise
                connection.terminate()  # never hand a broken connection to the next request
                await self._pool.release(connection)
                if attempt == 2:
                    raise DatabaseUnavailable() from error
                continue
            await self._pool.release(connection)
            assert row is not None
            return bool(row["owner_ok"]), bool(row["counted"]), bool(row["stored"])
        raise AssertionError("unreachable")
