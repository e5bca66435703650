"""POST /submit."""

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, post
from litestar.openapi.datastructures import ResponseSpec

from receiver.ingest.body import (
    check_content_length,
    check_content_type,
    decode_content,
    read_capped,
)
from receiver.ingest.validation import decode_payload
from receiver.security.keys import KEY_HEADER, Capability
from receiver.security.ownership import SECRET_HEADER, secret_hash
from receiver.services import client_address, services_of

_STORED = msgspec.json.encode({"status": "stored"})


class StoredAnswer(msgspec.Struct):
    status: str


class ErrorDetail(msgspec.Struct):
    status: int
    code: str
    message: str
    details: list[dict[str, str]] | None = None


class ErrorAnswer(msgspec.Struct):
    error: ErrorDetail


_ERRORS = {
    status: ResponseSpec(data_container=ErrorAnswer, description=description)
    for status, description in {
        400: "malformed JSON, invalid payload or unsupported schema version",
        401: "missing or unknown X-API-Key",
        403: "wrong X-Installation-Secret for this installation",
        413: "body larger than the cap (also after gzip decompression)",
        415: "Content-Type is not application/json, or unsupported Content-Encoding",
        429: "rate limited; see Retry-After",
        503: "database unavailable; see Retry-After",
    }.items()
}


@post(
    "/submit",
    status_code=200,
    summary="Store one weekly aggregate (schema 1.x, JSON, optionally gzip)",
    description=(
        "Headers: X-API-Key (submit key), Content-Type: application/json, optional "
        "Content-Encoding: gzip, X-Installation-Secret (schema 1.1 clients). Re-sending the same "
        "installation and period replaces the stored copy. Contract: docs/payload.md."
    ),
    tags=["ingest"],
    responses={200: ResponseSpec(data_container=StoredAnswer, description="stored"), **_ERRORS},
)
async def submit(request: Request[Any, Any, Any]) -> Response[bytes]:
    services = services_of(request)
    services.client_limiter.hit(client_address(request))
    headers = request.headers
    services.keys.require(headers.get(KEY_HEADER), Capability.SUBMIT)
    check_content_type(headers.get("content-type"))
    limit = services.settings.max_body_bytes
    check_content_length(headers.get("content-length"), limit)
    raw = await read_capped(request.stream(), limit)
    body = decode_content(raw, headers.get("content-encoding"), limit)
    now = datetime.now(UTC)
    valid = decode_payload(body, now)
    owner_hash = secret_hash(headers.get(SECRET_HEADER))
    await services.ingest.store(valid, owner_hash, now)
    return Response(_STORED, media_type=MediaType.JSON)
