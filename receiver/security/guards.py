"""Route guards: who may call a route (submit or admin key) and how often (per client address).

Each guard resolves the client's limit key once (services.client_address), counts the request in the
right in-memory bucket and checks the key, so handlers never repeat it. The guards are `async def`
although they never await: Litestar runs a sync guard in a worker thread, which cost more than a
whole request (about 0.1 ms per guard, measured). Requests without a valid key
count in a bucket of their own (client_limit.ClientRateLimiter): they never use up the budget of
authenticated clients behind the same address.
"""

from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from receiver.errors import ApiError
from receiver.security.keys import KEY_HEADER, Capability
from receiver.services import Services, client_address

log = structlog.get_logger("receiver.security")

KEYLESS_V1 = "receiver_keyless_v1"
CAPABILITY = "receiver_capability"


def _services(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    services: Services = connection.app.state.services
    return services


def _capability(
    services: Services, connection: ASGIConnection[Any, Any, Any, Any], client: str | None
) -> Capability:
    """The presented key's capability; an unauthenticated request counts in its own bucket first."""
    try:
        capability = services.keys.capability(connection.headers.get(KEY_HEADER))
    except ApiError:
        services.client_limiter.hit(client, authenticated=False)
        raise
    services.client_limiter.hit(client)
    return capability


async def require_submit_key(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """POST /submit: a submit key; with RECEIVER_ACCEPT_KEYLESS_V1 a request without any key passes
    here and the handler accepts it only for a schema 1.0 body."""
    services = _services(connection)
    client = client_address(connection)
    if services.settings.accept_keyless_v1 and not connection.headers.get(KEY_HEADER):
        services.client_limiter.hit(client, authenticated=False)
        connection.state[KEYLESS_V1] = True
        return
    if _capability(services, connection, client) is not Capability.SUBMIT:
        raise ApiError(403, "forbidden", "This key may not use this endpoint.")


async def require_submit_or_admin_key(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """DELETE /installation/{id}: a submit key (own installation) or an admin key (any)."""
    services = _services(connection)
    capability = _capability(services, connection, client_address(connection))
    connection.state[CAPABILITY] = capability


async def require_admin_key(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """The admin routes (the admin router of app.py: /stats/…, /metrics): the admin limit per client
    address, then an admin key. A refused key is logged — the route and the reason, never the address
    or the key."""
    path = str(connection.scope.get("path_template", connection.scope["path"]))
    services = _services(connection)
    services.admin_limiter.hit(client_address(connection))
    try:
        capability = services.keys.capability(connection.headers.get(KEY_HEADER))
    except ApiError as error:
        log.warning("admin_key_refused", route=path, reason=error.code)
        raise
    if capability is not Capability.ADMIN:
        log.warning("admin_key_refused", route=path, reason="not_an_admin_key")
        raise ApiError(403, "forbidden", "This key may not use this endpoint.")
