"""The async engine: aiosqlite (default) or asyncpg, tuned so a dead database fails fast.

`hide_parameters=True`: a database error's message never quotes the statement's parameters
(installation ids, secret hashes, payload values); errors.py logs only its type and SQLSTATE.
"""

from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

CONNECT_TIMEOUT_SECONDS = 5
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.close()


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(
            url,
            json_serializer=_json,
            json_deserializer=msgspec.json.decode,
            hide_parameters=True,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            pool_size=pool_size,
            max_overflow=0,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        json_serializer=_json,
        json_deserializer=msgspec.json.decode,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=CONNECT_TIMEOUT_SECONDS * 2,
        pool_recycle=3600,
        connect_args={
            "timeout": CONNECT_TIMEOUT_SECONDS,
            "command_timeout": 30,
            "server_settings": {"idle_in_transaction_session_timeout": "60000"},
        },
    )
