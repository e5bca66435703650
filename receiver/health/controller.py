"""GET / and /health (liveness: the process answers), GET /ready (the database answers, and at which
schema version)."""

import asyncio
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, get
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver import __version__
from receiver.errors import DatabaseUnavailable, is_database_outage
from receiver.openapi import LiveOperation, ReadyAnswer, ReadyOperation
from receiver.services import ServicesDependency

READY_TIMEOUT_SECONDS = 5
_LIVE = msgspec.json.encode({"status": "ok", "version": __version__})


@get(
    "/health",
    sync_to_thread=False,
    summary="Liveness",
    tags=["health"],
    operation_class=LiveOperation,
)
def health() -> Response[bytes]:
    return Response(_LIVE, media_type=MediaType.JSON)


@get(
    "/",
    sync_to_thread=False,
    summary="Liveness; a browser (Accept: text/html) is sent to the dashboard",
    tags=["health"],
)
def root(request: Request[Any, Any, Any]) -> Response[bytes]:
    if "text/html" in request.headers.get("accept", ""):
        return Response(
            b"", status_code=303, headers={"Location": "/dashboard"}, media_type=MediaType.TEXT
        )
    return Response(_LIVE, media_type=MediaType.JSON)


async def _ask_database(connection: AsyncConnection) -> str:
    """The database's Alembic revision (the schema version); asking it proves the database answers."""
    return str((await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar())


@get(
    "/ready",
    summary="Readiness: asks the database for its schema version (503 when it cannot be reached)",
    tags=["health"],
    operation_class=ReadyOperation,
)
async def ready(services: ServicesDependency) -> Response[bytes]:
    database = services.database
    try:
        version = await asyncio.wait_for(database.read(_ask_database), READY_TIMEOUT_SECONDS)
    except Exception as error:
        if is_database_outage(error) or isinstance(error, OSError):
            raise DatabaseUnavailable() from None
        raise
    return Response(
        msgspec.json.encode(ReadyAnswer("ready", "ok", version)), media_type=MediaType.JSON
    )
