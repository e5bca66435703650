"""One error shape for every answer that is not a success, defined once (`ErrorAnswer`, which the OpenAPI
document also describes).

`{"error": {"status": 400, "code": "invalid_payload", "message": "...", "details": [...]}}`
"""

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import msgspec
import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from receiver import metrics

log = structlog.get_logger("receiver.errors")
SUBMIT_ROUTE = "/submit"

DATABASE_RETRY_AFTER_SECONDS = 30


class ErrorDetail(msgspec.Struct, omit_defaults=True):
    status: int
    code: str
    message: str
    details: list[dict[str, str]] | None = None


class ErrorAnswer(msgspec.Struct):
    error: ErrorDetail


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
    detail = ErrorDetail(status, code, message, list(details) if details else None)
    return msgspec.json.encode(ErrorAnswer(detail))


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


def _answer(request: Request[Any, Any, Any], error: ApiError) -> Response[bytes]:
    if request.scope.get("path_template") == SUBMIT_ROUTE:
        metrics.count_refused_submission(error.status, error.code)
    if error.code == "database_unavailable":
        metrics.count_database_error("unavailable")
    return error_response(error)


def handle_api_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    assert isinstance(exc, ApiError)
    return _answer(request, exc)


def handle_http_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else "Request refused."
    headers = dict(exc.headers or {})
    return _answer(
        request, ApiError(status, _HTTP_CODES.get(status, "http_error"), message, (), headers)
    )


def is_database_error(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError | asyncpg.PostgresError | asyncpg.InterfaceError)


def database_error_fields(exc: BaseException) -> dict[str, str]:
    """What may be logged about a database error: its type and SQLSTATE. Never its message or
    traceback text: those can quote parameters (installation ids, secret hashes, payload values)."""
    original = getattr(exc, "orig", None) or exc
    return {
        "error": type(exc).__name__,
        "cause": type(original).__name__,
        "sqlstate": str(getattr(original, "sqlstate", "") or ""),
    }


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    if is_database_outage(exc):
        log.warning("database_unavailable", **database_error_fields(exc))
        return _answer(request, DatabaseUnavailable())
    internal = ApiError(500, "internal_error", "Internal error; it has been logged.")
    if is_database_error(exc):
        metrics.count_database_error("error")
        log.error("database_error", **database_error_fields(exc))
        return _answer(request, internal)
    log.error("unexpected_error", error=type(exc).__name__, exc_info=exc)
    return _answer(request, internal)


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
