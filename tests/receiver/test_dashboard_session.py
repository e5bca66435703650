"""The dashboard's protective rules over HTTP: session required, cookie flags, origin and CSRF checks.

In-process (Litestar's test client, the real app and a SQLite file); the browser test
(test_dashboard_browser.py) shows the same page in Chromium.
"""

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from receiver.app import create_app
from receiver.config import load_settings
from receiver.dashboard import controller
from receiver.dashboard import session as sessions
from receiver.security.client_limit import ClientRateLimiter
from tests.receiver.conftest import ADMIN_KEY, SUBMIT_KEY, server_env

BASE = "http://testserver.local"
ORIGIN = {"Origin": BASE}
SECOND_ADMIN_KEY = "second-admin-key-0123456789abcdef"


def _app(tmp_path: Path, **overrides: str) -> Litestar:
    env = server_env(
        **{
            "RECEIVER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'receiver.db'}",
            "RECEIVER_ADMIN_KEYS": f"{ADMIN_KEY},{SECOND_ADMIN_KEY}",
            **overrides,
        }
    )
    return create_app(load_settings(env, env_file=tmp_path / "none.env"))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient[Litestar]]:
    with TestClient(_app(tmp_path), base_url=BASE) as test_client:
        yield test_client


def _sign_in_token(client: TestClient[Litestar]) -> str:
    page = client.get("/dashboard/sign-in")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    assert client.cookies.get(sessions.SIGN_IN_COOKIE) == match[1]
    return match[1]


def _sign_in(
    client: TestClient[Litestar],
    key: str = ADMIN_KEY,
    headers: dict[str, str] | None = None,
    token: str | None = None,
) -> httpx.Response:
    form_token = _sign_in_token(client) if token is None else token
    return client.post(
        "/dashboard/sign-in",
        data={"admin_key": key, "csrf_token": form_token},
        headers=ORIGIN if headers is None else headers,
        follow_redirects=False,
    )


def _set_cookie(response: httpx.Response, name: str) -> str:
    found = [
        value for value in response.headers.get_list("set-cookie") if value.startswith(f"{name}=")
    ]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


def _page_csrf(client: TestClient[Litestar]) -> str:
    page = client.get("/dashboard", follow_redirects=False)
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return match[1]


def test_the_page_and_its_data_are_refused_without_a_session(
    client: TestClient[Litestar],
) -> None:
    page = client.get("/dashboard", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/dashboard/sign-in"
    data = client.get("/dashboard/api/stats/summary")
    assert data.status_code == 401
    assert data.json()["error"]["code"] == "no_session"
    # An admin key in a header does not open the dashboard's data: only the session does.
    assert (
        client.get("/dashboard/api/stats/summary", headers={"X-API-Key": ADMIN_KEY}).status_code
        == 401
    )


def test_a_browser_asking_for_the_root_is_sent_to_the_dashboard(
    client: TestClient[Litestar],
) -> None:
    browser = client.get("/", headers={"Accept": "text/html,*/*"}, follow_redirects=False)
    assert browser.status_code == 303
    assert browser.headers["location"] == "/dashboard"
    assert client.get("/").json()["status"] == "ok"  # monitoring still gets the liveness answer


def test_signing_in_sets_an_http_only_same_site_strict_session_cookie(
    client: TestClient[Litestar],
) -> None:
    signed_in = _sign_in(client)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/dashboard"
    cookie = _set_cookie(signed_in, sessions.SESSION_COOKIE).lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/dashboard" in cookie
    assert f"max-age={sessions.SESSION_SECONDS}" in cookie
    assert "secure" not in cookie  # development over plain HTTP (see the production test)
    assert ADMIN_KEY.lower() not in cookie

    page = client.get("/dashboard")
    assert page.status_code == 200
    assert ADMIN_KEY not in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    data = client.get("/dashboard/api/stats/summary")
    assert data.status_code == 200, data.text
    direct = client.get("/stats/summary", headers={"X-API-Key": ADMIN_KEY})
    assert data.json() == direct.json()
    assert data.headers["cache-control"] == "no-store"


def test_cookies_are_secure_outside_development(tmp_path: Path) -> None:
    assert load_settings({"RECEIVER_ENVIRONMENT": "production"}, tmp_path / "x").secure_cookies
    assert not load_settings({"RECEIVER_ENVIRONMENT": "development"}, tmp_path / "x").secure_cookies
    with TestClient(_app(tmp_path, RECEIVER_SECURE_COOKIES="1"), base_url=BASE) as secure:
        page = secure.get("/dashboard/sign-in")
        assert "secure" in _set_cookie(page, sessions.SIGN_IN_COOKIE).lower()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        signed_in = secure.post(
            "/dashboard/sign-in",
            data={"admin_key": ADMIN_KEY, "csrf_token": token[1]},
            headers={**ORIGIN, "Cookie": f"{sessions.SIGN_IN_COOKIE}={token[1]}"},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303
        cookie = _set_cookie(signed_in, sessions.SESSION_COOKIE).lower()
        assert "secure" in cookie
        assert "httponly" in cookie
        assert "samesite=strict" in cookie


@pytest.mark.parametrize(
    "headers",
    [
        {},  # neither Origin nor Referer
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/dashboard/sign-in"},
        {"Origin": "http://testserver.local.evil.example"},
    ],
)
def test_sign_in_from_another_origin_is_refused(
    client: TestClient[Litestar], headers: dict[str, str]
) -> None:
    response = _sign_in(client, headers=headers)
    assert response.status_code == 403
    assert sessions.SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_sign_in_from_the_same_origin_by_referer_is_accepted(
    client: TestClient[Litestar],
) -> None:
    response = _sign_in(client, headers={"Referer": f"{BASE}/dashboard/sign-in"})
    assert response.status_code == 303


def test_sign_in_needs_the_forms_csrf_token(client: TestClient[Litestar]) -> None:
    _sign_in_token(client)
    forged = _sign_in(client, token="a-token-the-attacker-made-up-0123")
    assert forged.status_code == 403
    assert sessions.SESSION_COOKIE not in forged.headers.get("set-cookie", "")
    client.cookies.clear()
    without_cookie = _sign_in(client, token="a-token-the-attacker-made-up-0123")
    assert without_cookie.status_code == 403


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (SUBMIT_KEY, "may not read"),
        ("not-a-key-of-this-receiver-000000", "not an admin key"),
        ("", "not an admin key"),
    ],
)
def test_only_an_admin_key_signs_in(client: TestClient[Litestar], key: str, message: str) -> None:
    response = _sign_in(client, key=key)
    assert response.status_code == 401
    assert message in response.text
    assert sessions.SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert client.get("/dashboard/api/stats/summary").status_code == 401


def test_sign_out_needs_the_pages_csrf_token_and_origin(client: TestClient[Litestar]) -> None:
    assert _sign_in(client).status_code == 303
    token = _page_csrf(client)
    for data, headers in (
        ({}, ORIGIN),
        ({"csrf_token": "forged"}, ORIGIN),
        ({"csrf_token": token}, {"Origin": "https://evil.example"}),
        ({"csrf_token": token}, {}),
    ):
        refused = client.post(
            "/dashboard/sign-out", data=data, headers=headers, follow_redirects=False
        )
        assert refused.status_code == 403, (data, headers)
        assert client.get("/dashboard/api/stats/summary").status_code == 200

    signed_out = client.post(
        "/dashboard/sign-out",
        data={"csrf_token": token},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/dashboard/sign-in"
    assert "max-age=0" in _set_cookie(signed_out, sessions.SESSION_COOKIE).lower()
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    assert client.get("/dashboard/api/stats/summary").status_code == 401


def _with_session(client: TestClient[Litestar], value: str) -> int:
    client.cookies.clear()
    client.cookies.set(sessions.SESSION_COOKIE, value, domain="testserver.local", path="/dashboard")
    return client.get("/dashboard/api/stats/summary").status_code


def test_forged_expired_and_revoked_sessions_are_refused(
    client: TestClient[Litestar], tmp_path: Path
) -> None:
    now = int(time.time())
    good = sessions.issue(ADMIN_KEY, now)
    assert _with_session(client, good) == 200
    body, mac = good.rsplit(".", 1)
    later = body.split(".")
    later[3] = str(now + 10 * sessions.SESSION_SECONDS)  # a longer life, same signature
    assert _with_session(client, ".".join(later) + "." + mac) == 401
    assert _with_session(client, body + "." + ("A" if mac[0] != "A" else "B") + mac[1:]) == 401
    assert (
        _with_session(client, sessions.issue(ADMIN_KEY, now - sessions.SESSION_SECONDS - 1)) == 401
    )
    assert _with_session(client, sessions.issue("some-other-admin-key-0123456789", now)) == 401
    assert _with_session(client, "v1.garbage") == 401
    assert _with_session(client, sessions.issue(SUBMIT_KEY, now)) == 401

    # Removing an admin key from the configuration ends the sessions signed in with it.
    second = sessions.issue(SECOND_ADMIN_KEY, now)
    assert _with_session(client, second) == 200
    with TestClient(_app(tmp_path, RECEIVER_ADMIN_KEYS=ADMIN_KEY), base_url=BASE) as without_second:
        without_second.cookies.set(
            sessions.SESSION_COOKIE, second, domain="testserver.local", path="/dashboard"
        )
        assert without_second.get("/dashboard/api/stats/summary").status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/api/submit",
        "/dashboard/api/installation/00000000-0000-4000-8000-000000000000",
        "/dashboard/api/health",
        "/dashboard/api/stats/../submit",
        "/dashboard/api/schema/openapi.json",
    ],
)
def test_the_session_reads_only_the_analytics_endpoints(
    client: TestClient[Litestar], path: str
) -> None:
    assert _sign_in(client).status_code == 303
    assert client.get(path).status_code == 404


def test_the_data_endpoint_forwards_errors_and_parameters(client: TestClient[Litestar]) -> None:
    assert _sign_in(client).status_code == 303
    bad = client.get("/dashboard/api/stats/reliability?since_week=yesterday")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_parameter"
    good = client.get("/dashboard/api/stats/reliability?since_week=2026-W40&until_week=2026-W41")
    assert good.status_code == 200
    assert good.json()["weeks"] == 2


def test_session_tokens_without_the_module_are_unreadable() -> None:
    now = int(time.time())
    value = sessions.issue(ADMIN_KEY, now)
    assert ADMIN_KEY not in value
    assert sessions.verify(value, [ADMIN_KEY], now) is not None
    assert sessions.verify(value, [ADMIN_KEY], now + sessions.SESSION_SECONDS) is None
    assert sessions.verify(value, [], now) is None
    assert sessions.verify(None, [ADMIN_KEY], now) is None
    assert sessions.verify("x" * 300, [ADMIN_KEY], now) is None
    assert sessions.verify("v1.a.b.c.d.e", [ADMIN_KEY], now) is None


def test_sign_in_attempts_count_in_the_per_address_limit(tmp_path: Path) -> None:
    app = _app(tmp_path, RECEIVER_CLIENT_RATE_LIMIT_PER_MINUTE="3")
    with TestClient(app, base_url=BASE) as limited:
        statuses = [
            _sign_in(limited, key=f"guess-{n}-0123456789abcdef").status_code for n in range(4)
        ]
        assert statuses == [401, 401, 401, 429]


def test_sign_in_attempts_count_in_the_admin_limit_and_refusals_are_logged_without_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = _app(tmp_path, RECEIVER_ADMIN_RATE_LIMIT_PER_MINUTE="3")
    with TestClient(app, base_url=BASE) as limited:
        guessed = "guess-0123456789abcdef-0123456789"
        statuses = [_sign_in(limited, key=guessed).status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
        refused = _sign_in(limited)  # even the right key waits: the address used its admin budget
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "Too many sign-in attempts" in refused.text
        assert sessions.SESSION_COOKIE not in limited.cookies
    log = capsys.readouterr().err
    refusals = [line for line in log.splitlines() if "admin_key_refused" in line]
    assert len(refusals) == 3
    assert all('"/dashboard/sign-in"' in line for line in refusals)
    assert guessed not in log
    assert "testclient" not in log


def test_a_page_load_is_not_stopped_by_the_admin_api_limit_but_a_session_has_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(tmp_path, RECEIVER_ADMIN_RATE_LIMIT_PER_MINUTE="5")
    with TestClient(app, base_url=BASE) as client:
        assert _sign_in(client).status_code == 303
        # Three page loads' worth of data requests within a minute.
        for _ in range(30):
            assert client.get("/dashboard/api/stats/summary").status_code == 200
        monkeypatch.setattr(
            controller,
            "_session_limiter",
            ClientRateLimiter(2, code="dashboard_rate_limited", what="dashboard requests"),
        )
        assert client.get("/dashboard/api/stats/summary").status_code == 200
        assert client.get("/dashboard/api/stats/summary").status_code == 200
        limited = client.get("/dashboard/api/stats/summary")
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "dashboard_rate_limited"
