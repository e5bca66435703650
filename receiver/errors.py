"""One error shape for every answer that is not a success.

`{"error": {"status": 400, "code": "invalid_payload", "message": "...", "details": [...]}}`
"""

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

log = structlog.get_logger("receiver.errors")

DATABASE_RETRY_AFTER_SECONDS = 30


class ApiError(Exception):
    """An error a client can act on; becomes the JSON error answer."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Sequence[Any] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)
        self.headers = dict(headers or {})


class DatabaseUnavailable(ApiError):
    def __init__(self) -> None:
        super().__init__(
            503,
            "database_unavailable",
            "The database is unavailable; retry later.",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )


def error_body(status: int, code: str, message: str, details: Sequence[Any] = ()) -> bytes:
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details:
        error["details"] = list(details)
    return msgspec.json.encode({"error": error})


def error_response(error: ApiError) -> Response[bytes]:
    return Response(
        content=error_body(error.status, error.code, error.message, error.details),
        status_code=error.status,
        media_type=MediaType.JSON,
        headers=error.headers,
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def is_database_outage(exc: BaseException) -> bool:
    """Connection-level database failures (not programming errors) become 503."""
    if isinstance(exc, OperationalError | PoolTimeoutError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    seen: BaseException | None = exc
    for _ in range(5):
        seen = getattr(seen, "orig", None) or getattr(seen, "__cause__", None)
        if seen is None:
            return False
        sqlstate = str(getattr(seen, "sqlstate", "") or "")
        # 08: connection exception, 53: insufficient resources, 57P: operator intervention
        if sqlstate.startswith(("08", "53", "57P")) or type(seen).__name__ in _OUTAGE_NAMES:
            return True
        if isinstance(seen, ConnectionError | TimeoutError):
            return True
    return False


_OUTAGE_NAMES = frozenset(
    {"ConnectionDoesNotExistError", "InterfaceError", "ConnectionFailureError"}
)


def handle_api_error(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    assert isinstance(exc, ApiError)
    return error_response(exc)


def handle_http_exception(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else "Request refused."
    headers = dict(exc.headers or {})
    return error_response(
        ApiError(status, _HTTP_CODES.get(status, "http_error"), message, (), headers)
    )


def handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    if is_database_outage(exc):
        log.warning("database_unavailable", error=type(exc).__name__)
        return error_response(DatabaseUnavailable())
    log.error("unexpected_error", error=type(exc).__name__, exc_info=exc)
    return error_response(ApiError(500, "internal_error", "Internal error; it has been logged."))


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
