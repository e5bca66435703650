"""DELETE /installation/{installation_id}."""

import uuid
from typing import Any

import msgspec
import structlog
from litestar import MediaType, Request, Response, delete
from litestar.params import FromPath

from receiver.errors import ApiError
from receiver.logs import short_id
from receiver.openapi import DeleteOperation
from receiver.security.guards import CAPABILITY, require_submit_or_admin_key
from receiver.security.keys import Capability
from receiver.security.ownership import SECRET_HEADER, secret_hash
from receiver.services import ServicesDependency

log = structlog.get_logger("receiver.installations")


def _canonical_id(value: str) -> str:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ApiError(400, "invalid_installation_id", "installation_id must be a UUID.") from None
    canonical = str(parsed)
    if value.lower() != canonical:
        raise ApiError(
            400, "invalid_installation_id", "installation_id must be a UUID in 8-4-4-4-12 form."
        )
    return canonical


@delete(
    "/installation/{installation_id:str}",
    status_code=200,
    summary="Erase everything stored about one installation (GDPR)",
    description=(
        "Submit keys may erase their own installation (with X-Installation-Secret when the "
        "installation registered one); admin keys may erase any. Answers how many submissions "
        "were deleted."
    ),
    tags=["installations"],
    guards=[require_submit_or_admin_key],
    operation_class=DeleteOperation,
)
async def erase_installation(
    request: Request[Any, Any, Any],
    services: ServicesDependency,
    installation_id: FromPath[str],
) -> Response[bytes]:
    capability: Capability = request.state[CAPABILITY]
    canonical = _canonical_id(installation_id)
    presented = secret_hash(request.headers.get(SECRET_HEADER))
    deleted = await services.deletion.erase(canonical, capability, presented)
    log.info(
        "installation_erased",
        installation=short_id(canonical),
        deleted_submissions=deleted,
        by=capability.value,
    )
    return Response(
        msgspec.json.encode({"installation_id": canonical, "deleted_submissions": deleted}),
        media_type=MediaType.JSON,
    )
