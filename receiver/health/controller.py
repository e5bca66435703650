"""GET / and /health (liveness: the process answers), GET /ready (the database answers)."""

import asyncio
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, get
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver import __version__
from receiver.errors import DatabaseUnavailable, is_database_outage
from receiver.services import services_of

READY_TIMEOUT_SECONDS = 5
_LIVE = msgspec.json.encode({"status": "ok", "version": __version__})
_READY = msgspec.json.encode({"status": "ready", "database": "ok"})


@get("/health", sync_to_thread=False, summary="Liveness", tags=["health"])
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


async def _ask_database(connection: AsyncConnection) -> None:
    await connection.execute(text("SELECT 1"))


@get(
    "/ready",
    summary="Readiness: asks the database (503 when it cannot be reached)",
    tags=["health"],
)
async def ready(request: Request[Any, Any, Any]) -> Response[bytes]:
    database = services_of(request).database
    try:
        await asyncio.wait_for(database.read(_ask_database), READY_TIMEOUT_SECONDS)
    except Exception as error:
        if is_database_outage(error) or isinstance(error, OSError):
            raise DatabaseUnavailable() from None
        raise
    return Response(_READY, media_type=MediaType.JSON)
