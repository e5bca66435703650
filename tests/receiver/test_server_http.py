"""The receiver answers over real HTTP on 127.0.0.1."""

from pathlib import Path

import httpx

from tests.receiver_server import run_receiver


def test_health_over_real_http(database_url: str, tmp_path: Path) -> None:
    with run_receiver(database_url, tmp_path) as receiver:
        response = httpx.get(f"{receiver.url}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
