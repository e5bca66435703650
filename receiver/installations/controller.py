"""DELETE /installation/{installation_id}."""

import uuid
from typing import Any

import msgspec
import structlog
from litestar import MediaType, Request, Response, delete

from receiver.errors import ApiError
from receiver.logs import short_id
from receiver.security.keys import KEY_HEADER, Capability
from receiver.security.ownership import SECRET_HEADER, secret_hash
from receiver.services import client_address, services_of

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
)
async def erase_installation(
    request: Request[Any, Any, Any], installation_id: str
) -> Response[bytes]:
    services = services_of(request)
    services.client_limiter.hit(client_address(request))
    capability = services.keys.require(
        request.headers.get(KEY_HEADER), Capability.SUBMIT, Capability.ADMIN
    )
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
