"""The README's run command brings up the receiver and a Home Assistant where the integration can be added.

Runs `scripts/run` exactly as a newcomer would (in a copy of the working tree's scripts, against a temporary
`.dev` folder), onboards Home Assistant through its HTTP API like the browser does, adds the integration through
the config flow over HTTP, and stops everything with Ctrl-C (SIGINT).
"""

import json
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
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[2]
RECEIVER_URL = "http://127.0.0.1:8080"
HA_URL = "http://127.0.0.1:8123"
WS_URL = "ws://127.0.0.1:8123/api/websocket"
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


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on `port` (Linux /proc/net/tcp and tcp6)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                if len(address) == 8:  # IPv4, little-endian hex
                    found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    found.add(f"ipv6:{address}")
    return found


def _websocket(token: str, *commands: dict[str, Any]) -> list[dict[str, Any]]:
    """Home Assistant's WebSocket API, as the frontend uses it: one answer per command."""
    answers: list[dict[str, Any]] = []
    with connect(WS_URL, open_timeout=30) as socket:
        assert json.loads(socket.recv(timeout=30))["type"] == "auth_required"
        socket.send(json.dumps({"type": "auth", "access_token": token}))
        assert json.loads(socket.recv(timeout=30))["type"] == "auth_ok"
        for number, command in enumerate(commands, start=1):
            socket.send(json.dumps({"id": number, **command}))
            deadline = time.monotonic() + 30
            while True:  # other messages (events) may come first; the answer within 30 s
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"no answer to {command} within 30 s")
                message = json.loads(socket.recv(timeout=remaining))
                if message.get("id") == number:
                    assert message["success"], message
                    answers.append(message["result"])
                    break
    return answers


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

    # Home Assistant listens on 127.0.0.1 only, from its confirmed (stable) HTTP configuration: the
    # frontend has no "Confirm new HTTP server configuration … will revert" prompt to show (it shows one
    # while a pending configuration has a revert time) and there is no repair issue about it.
    assert _listening_addresses(8123) == {"127.0.0.1"}
    http_config, repairs = _websocket(
        token, {"type": "http/config"}, {"type": "repairs/list_issues"}
    )
    assert http_config["pending"] is None, http_config
    assert http_config["revert_at"] is None, http_config
    assert http_config["stable"]["server_host"] == ["127.0.0.1"]
    assert [issue for issue in repairs["issues"] if issue["domain"] == "http"] == []

    # A log a newcomer can read: warnings and errors, start-up milestones, this integration's lines.
    ha_lines = [line for line in log.read_text().splitlines() if "(MainThread)" in line]
    assert not [line for line in ha_lines if " DEBUG " in line]
    noisy = [
        line
        for line in ha_lines
        if " INFO " in line
        and "[homeassistant.core]" not in line
        and "[custom_components.printernizer_usage" not in line
    ]
    assert noisy == [], noisy[:10]

    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=60) == 0, log.read_text()[-4000:]
    assert not _port_in_use(8080)
    assert not _port_in_use(8123)
