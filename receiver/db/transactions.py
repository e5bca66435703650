"""Run one short transaction; retry once when the pooled connection turned out to be dead."""

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from receiver.db.engine import is_sqlite
from receiver.errors import DatabaseUnavailable


async def retry_once[T](
    attempt: Callable[[], Awaitable[T]], is_lost_connection: Callable[[Exception], bool]
) -> T:
    """The one retry rule of the receiver (SQLAlchemy paths and the asyncpg ingest writer): an
    attempt that failed because its pooled connection was dead is made once more, on a fresh one."""
    try:
        return await attempt()
    except Exception as error:
        if not is_lost_connection(error):
            raise
    return await attempt()


def _invalidated(error: Exception) -> bool:
    return isinstance(error, DBAPIError) and error.connection_invalidated


class Database:
    """The engine plus the rules for writing to it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect_name = engine.dialect.name
        # No BEGIN/COMMIT round trips for reads and single-statement writes; also rules out
        # "idle in transaction" between statements.
        self._autocommit_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        # SQLite has one writer at a time; queueing here is cheaper than its busy-wait sleeps.
        self._write_lock: asyncio.Lock | None = (
            asyncio.Lock() if is_sqlite(str(engine.url)) else None
        )

    def _writer(self) -> AbstractAsyncContextManager[object]:
        return self._write_lock if self._write_lock is not None else nullcontext()

    async def _connect(self, *, autocommit: bool = False) -> AsyncConnection:
        """A pooled connection; any failure to get one means the database is unavailable."""
        connection = (self._autocommit_engine if autocommit else self.engine).connect()
        try:
            await connection.start()
        except Exception as error:
            raise DatabaseUnavailable() from error
        return connection

    async def _run[T](
        self, work: Callable[[AsyncConnection], Awaitable[T]], *, transaction: bool
    ) -> T:
        connection = await self._connect(autocommit=not transaction)
        try:
            if not transaction:
                return await work(connection)
            async with connection.begin():
                return await work(connection)
        finally:
            await connection.close()

    async def _with_retry[T](
        self, work: Callable[[AsyncConnection], Awaitable[T]], *, transaction: bool
    ) -> T:
        return await retry_once(lambda: self._run(work, transaction=transaction), _invalidated)

    async def write[T](self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run `work` in one transaction (committed on success, rolled back on any error)."""
        async with self._writer():
            return await self._with_retry(work, transaction=True)

    async def read[T](self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run `work` without an explicit transaction (each statement commits by itself)."""
        return await self._with_retry(work, transaction=False)
