"""POST /submit."""

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, post

from receiver import metrics
from receiver.errors import ApiError
from receiver.ingest.body import (
    check_content_length,
    check_content_type,
    decode_content,
    read_capped,
)
from receiver.ingest.validation import ValidPayload, decode_payload
from receiver.openapi import SubmitOperation
from receiver.security.guards import KEYLESS_V1, require_submit_key
from receiver.security.ownership import SECRET_HEADER, secret_hash
from receiver.services import ServicesDependency, client_address

_STORED = msgspec.json.encode({"status": "stored"})


def check_keyless_allowed(valid: ValidPayload) -> None:
    """RECEIVER_ACCEPT_KEYLESS_V1 lets keyless schema-1.0 bodies in; 1.1 always needs a key."""
    if valid.schema_version != "1.0":
        raise ApiError(
            401, "missing_api_key", "Send your key in the X-API-Key header (schema 1.1 needs one)."
        )


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
    guards=[require_submit_key],
    operation_class=SubmitOperation,
)
async def submit(request: Request[Any, Any, Any], services: ServicesDependency) -> Response[bytes]:
    headers = request.headers
    check_content_type(headers.get("content-type"))
    limit = services.settings.max_body_bytes
    check_content_length(headers.get("content-length"), limit)
    raw = await read_capped(request.stream(), limit)
    body = decode_content(raw, headers.get("content-encoding"), limit)
    now = datetime.now(UTC)
    valid = decode_payload(body, now, services.period_rules)
    if request.state.get(KEYLESS_V1):
        check_keyless_allowed(valid)
    owner_hash = secret_hash(headers.get(SECRET_HEADER))
    result = await services.ingest.store(valid, owner_hash, now, client_address(request))
    metrics.count_submission(result)
    return Response(_STORED, media_type=MediaType.JSON)
