"""Liveness, readiness, OpenAPI and privacy of logs, over real HTTP on 127.0.0.1."""

from pathlib import Path

import httpx

from receiver.db.schema_version import head_revision
from tests.payloads import load_payloads
from tests.receiver.conftest import SUBMIT_KEY, Api, assert_error, server_env
from tests.receiver_server import run_receiver


def test_root_and_health_answer_without_database_work(api: Api) -> None:
    for path in ("/", "/health"):
        response = api.http.get(f"{api.url}{path}")
        assert response.status_code == 200
        assert response.json()["status"] == "ok"


def test_ready_asks_the_database(api: Api) -> None:
    response = api.http.get(f"{api.url}/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "database": "ok",
        "schema_version": head_revision(),
    }


def test_openapi_schema_lists_the_endpoints(api: Api) -> None:
    schema = api.http.get(f"{api.url}/schema/openapi.json").json()
    assert {"/submit", "/installation/{installation_id}", "/stats/summary", "/ready"} <= set(
        schema["paths"]
    )


def test_every_admin_route_needs_an_admin_key(api: Api) -> None:
    """Every route under /stats/ (but the public ones) and /metrics, taken from the app's own route
    table: a route added without the admin router's guard fails here."""
    app = api.http.app  # type: ignore[attr-defined]
    paths = sorted(
        route.path
        for route in app.routes
        if route.path == "/metrics"
        or (route.path.startswith("/stats/") and "GET" in getattr(route, "methods", ()))
    )
    assert {"/metrics", "/stats/summary", "/stats/export", "/stats/reliability"} <= set(paths)
    assert len(paths) >= 15
    for path in paths:
        assert_error(api.http.get(f"{api.url}{path}"), 401)
        assert_error(api.http.get(f"{api.url}{path}", headers={"X-API-Key": SUBMIT_KEY}), 403)


def test_unknown_path_and_method_use_the_error_shape(api: Api) -> None:
    assert_error(api.http.get(f"{api.url}/no-such-page"), 404, "not_found")
    assert_error(api.http.get(f"{api.url}/submit"), 405, "method_not_allowed")


def test_logs_are_json_without_client_addresses_or_full_installation_ids(server_api: Api) -> None:
    api = server_api
    payload = load_payloads("valid")["integration-1.1-farm"]
    installation_id = payload["installation"]["installation_id"]
    assert api.submit(payload).status_code == 200
    assert api.delete(installation_id).status_code == 200
    assert api.receiver is not None
    log = api.receiver.log_text()
    assert installation_id[:8] in log
    assert installation_id not in log
    assert "127.0.0.1:" not in log.replace(api.url, "")
    assert '"GET /' not in log
    assert "POST /submit" not in log


def test_server_stops_cleanly_on_sigterm(database_url: str, tmp_path: Path) -> None:
    with run_receiver(database_url, tmp_path, server_env()) as receiver:
        assert httpx.get(f"{receiver.url}/health").status_code == 200
    assert receiver.process.returncode == 0
    assert "Application shutdown complete" in receiver.log_text()
