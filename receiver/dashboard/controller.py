"""The maintainers' dashboard: sign-in, the page, sign-out, and its data (GET only) behind the session.

- `GET /dashboard`: the page with a session; without one a redirect (303) to the sign-in page.
- `GET /dashboard/sign-in`, `POST /dashboard/sign-in`: an admin key becomes a session cookie
  (HttpOnly, SameSite=Strict, path `/dashboard`, Secure unless switched off for plain-HTTP development).
- `POST /dashboard/sign-out`: deletes the cookie.
- `GET /dashboard/api/<path>`: the analytics endpoint `/<path>` (`stats/…`, `public/stats`) answered
  for the session's admin key; without a session 401. The key itself never reaches the browser.

Every POST must come from the dashboard's own origin and carry its CSRF token. Sign-in attempts count
in the per-address limit of unauthenticated requests (RECEIVER_CLIENT_RATE_LIMIT_PER_MINUTE), as a
refused key does anywhere, and in the admin limit (RECEIVER_ADMIN_RATE_LIMIT_PER_MINUTE), as an admin
API call does; a refused key is logged with the route and the reason, never the address or the key. One page load asks about a dozen endpoints: those inner requests carry no
client address (the per-address limit of admin API callers would stop a second refresh within a
minute); each session instead has its own limit, `DASHBOARD_REQUESTS_PER_MINUTE`.
"""

import html
import time
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import parse_qs

import structlog
from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.params import Parameter
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler, HTTPRequestEvent, Message, Scope

from receiver.dashboard import session as sessions
from receiver.errors import ApiError, error_response
from receiver.security.client_limit import ClientRateLimiter
from receiver.security.keys import KEY_HEADER, Capability
from receiver.services import client_address, services_of

log = structlog.get_logger("receiver.security")

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
CHART_LIBRARY = STATIC_DIR / "vendor" / "chart.umd.min.js"
MAX_FORM_BYTES = 4096
FORWARDED_PREFIXES = ("/stats/", "/public/stats")
DASHBOARD_REQUESTS_PER_MINUTE = 240  # about twenty full page loads
# Headers that name the client or carry credentials: not passed to the inner request.
_NOT_FORWARDED = frozenset(
    {
        b"cookie",
        KEY_HEADER.encode(),
        b"authorization",
        b"x-admin-key",
        b"x-forwarded-for",
        b"forwarded",
        b"x-real-ip",
    }
)
_session_limiter = ClientRateLimiter(
    DASHBOARD_REQUESTS_PER_MINUTE, code="dashboard_rate_limited", what="dashboard requests"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _template(name: str) -> str:
    return (HERE / "templates" / name).read_text(encoding="utf-8")


def _render(name: str, **values: str) -> str:
    page = _template(name)
    for key, value in values.items():
        page = page.replace("{{" + key + "}}", html.escape(value, quote=True))
    return page


def _html(page: str, status: int = 200, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(
        page,
        status_code=status,
        media_type=MediaType.HTML,
        headers=SECURITY_HEADERS,
        cookies=cookies or [],
    )


def _redirect(location: str, cookies: list[Cookie] | None = None) -> Response[bytes]:
    return Response(
        b"",
        status_code=303,
        headers={**SECURITY_HEADERS, "Location": location},
        cookies=cookies or [],
    )


def _secure(request: Request[Any, Any, Any]) -> bool:
    return services_of(request).settings.secure_cookies or request.url.scheme == "https"


def _cookie(request: Request[Any, Any, Any], key: str, value: str | None, max_age: int) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path=sessions.COOKIE_PATH,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def current_session(request: Request[Any, Any, Any]) -> sessions.Session | None:
    return sessions.verify(
        request.cookies.get(sessions.SESSION_COOKIE),
        services_of(request).settings.admin_keys,
        int(time.time()),
    )


def _from_this_origin(request: Request[Any, Any, Any]) -> bool:
    headers = request.headers
    return sessions.same_origin(headers.get("origin"), headers.get("referer"), headers.get("host"))


def _refused(message: str) -> Response[bytes]:
    response = error_response(ApiError(403, "forbidden", message))
    response.headers.update(SECURITY_HEADERS)
    return response


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    """A small urlencoded form (the sign-in and sign-out forms); anything else is empty."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=8)
    return {name: values[0] for name, values in fields.items() if values}


def _sign_in_page(
    request: Request[Any, Any, Any], error: str = "", status: int = 200
) -> Response[str]:
    token = sessions.new_sign_in_token()
    page = _render("sign_in.html", csrf_token=token, error=error)
    cookie = _cookie(request, sessions.SIGN_IN_COOKIE, token, sessions.SIGN_IN_SECONDS)
    return _html(page, status, [cookie])


@get("/dashboard", include_in_schema=False)
async def dashboard_page(request: Request[Any, Any, Any]) -> Response[Any]:
    session = current_session(request)
    if session is None:
        return _redirect("/dashboard/sign-in")
    library = "present" if CHART_LIBRARY.exists() else "missing"
    page = _render("dashboard.html", csrf_token=sessions.csrf_token(session), library=library)
    return _html(page)


@get("/dashboard/sign-in", include_in_schema=False)
async def sign_in_page(request: Request[Any, Any, Any]) -> Response[Any]:
    if current_session(request) is not None:
        return _redirect("/dashboard")
    return _sign_in_page(request)


@post("/dashboard/sign-in", include_in_schema=False)
async def sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
    if not _from_this_origin(request):
        return _refused("Sign-in must come from the dashboard's own page.")
    services = services_of(request)
    client = client_address(request)
    services.client_limiter.hit(client, authenticated=False)
    try:
        services.admin_limiter.hit(client)
    except ApiError as limited:
        page = _sign_in_page(request, "Too many sign-in attempts; please wait a minute.", 429)
        page.headers.update(limited.headers)
        return page
    form = await _form(request)
    if not sessions.sign_in_token_matches(
        request.cookies.get(sessions.SIGN_IN_COOKIE), form.get("csrf_token")
    ):
        return _sign_in_page(request, "The sign-in form expired; please try again.", 403)
    key = form.get("admin_key", "").strip()
    try:
        services.keys.require(key, Capability.ADMIN)
    except ApiError as error:
        log.warning("admin_key_refused", route="/dashboard/sign-in", reason=error.code)
        message = (
            "This key may not read the statistics (a submit key?)."
            if error.status == 403
            else "That is not an admin key of this receiver."
        )
        return _sign_in_page(request, message, 401)
    value = sessions.issue(key, int(time.time()))
    return _redirect(
        "/dashboard",
        [
            _cookie(request, sessions.SESSION_COOKIE, value, sessions.SESSION_SECONDS),
            _cookie(request, sessions.SIGN_IN_COOKIE, None, 0),
        ],
    )


@post("/dashboard/sign-out", include_in_schema=False)
async def sign_out(request: Request[Any, Any, Any]) -> Response[Any]:
    if not _from_this_origin(request):
        return _refused("Sign-out must come from the dashboard's own page.")
    session = current_session(request)
    form = await _form(request)
    if session is not None and not sessions.csrf_matches(session, form.get("csrf_token")):
        return _refused("The sign-out form is not from this session.")
    return _redirect("/dashboard/sign-in", [_cookie(request, sessions.SESSION_COOKIE, None, 0)])


async def _forward(request: Request[Any, Any, Any], path: str, admin_key: str) -> Response[bytes]:
    """Answer GET `path` with the app's own handler, as a request with the session's admin key."""
    headers = [
        (name, value) for name, value in request.scope["headers"] if name not in _NOT_FORWARDED
    ]
    headers.append((KEY_HEADER.encode(), admin_key.encode("utf-8", "surrogateescape")))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": request.scope.get("http_version", "1.1"),
        "method": "GET",
        "scheme": request.scope.get("scheme", "http"),
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": request.scope.get("query_string", b""),
        "headers": headers,
        "client": None,  # see the module's docstring: limited per session instead
        "server": request.scope.get("server"),
        "extensions": {},
        "state": {},
    }
    status = 500
    answer_headers: list[tuple[bytes, bytes]] = []
    body = bytearray()

    async def receive() -> HTTPRequestEvent:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status, answer_headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            answer_headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await request.app(cast("Scope", scope), receive, send)
    media_type = next(
        (value.decode("latin-1") for name, value in answer_headers if name == b"content-type"),
        MediaType.JSON,
    )
    return Response(
        bytes(body),
        status_code=status,
        media_type=media_type,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


@get("/dashboard/api/{target:path}", include_in_schema=False)
async def dashboard_data(
    request: Request[Any, Any, Any], target: Annotated[str, Parameter(description="analytics path")]
) -> Response[bytes]:
    session = current_session(request)
    if session is None:
        return error_response(
            ApiError(401, "no_session", "Sign in at /dashboard/sign-in to read the statistics.")
        )
    path = "/" + target.lstrip("/")
    if ".." in path or not path.startswith(FORWARDED_PREFIXES):
        return error_response(ApiError(404, "not_found", "No such dashboard data."))
    _session_limiter.hit(session.nonce)
    return await _forward(request, path, session.admin_key)


dashboard_static = create_static_files_router(
    path="/dashboard/static",
    directories=[STATIC_DIR],
    include_in_schema=False,
    cache_control=CacheControlHeader(no_cache=True),
)

DASHBOARD_HANDLERS: list[ControllerRouterHandler] = [
    dashboard_page,
    sign_in_page,
    sign_in,
    sign_out,
    dashboard_data,
    dashboard_static,
]
