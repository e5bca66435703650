"""The README's run command brings up the receiver and a Home Assistant where the integration can be added.

Runs `scripts/run` exactly as a newcomer would (in a copy of the working tree's scripts, against a temporary
`.dev` folder), onboards Home Assistant through its HTTP API like the browser does, adds the integration through
the config flow over HTTP, and stops everything with Ctrl-C (SIGINT).
"""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
RECEIVER_URL = "http://127.0.0.1:8080"
HA_URL = "http://127.0.0.1:8123"
CLIENT_ID = f"{HA_URL}/"


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"scripts/run exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not come up:\n{log.read_text()[-4000:]}")


@pytest.fixture
def running_dev_setup(
    socket_enabled: None, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    for port in (8080, 8123):
        if _port_in_use(port):
            pytest.fail(f"port {port} is in use: stop the running development set-up first")
    log = tmp_path / "run.log"
    env = {**os.environ, "PRINTERNIZER_DEV_DIR": str(tmp_path / "dev")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / "run")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _answer_with_defaults(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """What a user who accepts every default submits (sections are nested objects)."""
    answer: dict[str, Any] = {}
    for field in fields:
        if field.get("type") == "expandable":
            answer[field["name"]] = _answer_with_defaults(field["schema"])
        elif "default" in field:
            answer[field["name"]] = field["default"]
    return answer


def test_run_command_serves_receiver_and_home_assistant_with_the_integration(
    running_dev_setup: tuple[subprocess.Popen[bytes], Path],
) -> None:
    process, log = running_dev_setup
    _wait_for(f"{RECEIVER_URL}/health", process, log)
    assert httpx.get(f"{RECEIVER_URL}/health").status_code == 200
    _wait_for(f"{HA_URL}/api/onboarding", process, log)

    with httpx.Client(base_url=HA_URL, timeout=30) as ha:
        created = ha.post(
            "/api/onboarding/users",
            json={
                "client_id": CLIENT_ID,
                "name": "Newcomer",
                "username": "newcomer",
                "password": "a-long-dev-password",
                "language": "en",
            },
        )
        assert created.status_code == 200, created.text
        token = ha.post(
            "/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": created.json()["auth_code"],
                "client_id": CLIENT_ID,
            },
        ).json()["access_token"]
        ha.headers["Authorization"] = f"Bearer {token}"

        step = ha.post("/api/config/config_entries/flow", json={"handler": "printernizer_usage"})
        assert step.status_code == 200, step.text
        result = step.json()
        for _ in range(5):
            if result["type"] != "form":
                break
            answered = ha.post(
                f"/api/config/config_entries/flow/{result['flow_id']}",
                json=_answer_with_defaults(result.get("data_schema") or []),
            )
            assert answered.status_code == 200, (result, answered.text)
            result = answered.json()
        assert result["type"] == "create_entry", result

        entries = ha.get("/api/config/config_entries/entry").json()
        ours = [entry for entry in entries if entry["domain"] == "printernizer_usage"]
        assert [entry["state"] for entry in ours] == ["loaded"]

    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=60) == 0, log.read_text()[-4000:]
    assert not _port_in_use(8080)
    assert not _port_in_use(8123)
