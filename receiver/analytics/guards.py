"""Litestar guard: the route needs an admin key (401 without a valid key, 403 with a submit key)."""

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from receiver.security.keys import KEY_HEADER, Capability


def admin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    services = connection.app.state.services
    services.keys.require(connection.headers.get(KEY_HEADER), Capability.ADMIN)
