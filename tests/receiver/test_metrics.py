"""GET /metrics: admin keys only; submissions by outcome, latency, batch sizes; summed over workers."""

import json
import re
import uuid
from pathlib import Path

import httpx

from tests.payloads import load_payloads
from tests.receiver.conftest import ADMIN_KEY, SUBMIT_KEY, in_process, server_env
from tests.receiver_server import run_receiver

EXAMPLE = load_payloads("valid")["printernizer-1.0-example"]
JSON = {"Content-Type": "application/json", "X-API-Key": SUBMIT_KEY}


def body(installation_id: str) -> bytes:
    payload = json.loads(json.dumps(EXAMPLE))
    payload["installation"]["installation_id"] = installation_id
    return json.dumps(payload).encode()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the text exposition (0 when absent); labels in any order."""
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{(.*)\})? ([0-9.e+-]+)$", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    return 0.0


async def test_outcomes_are_counted_and_metrics_need_an_admin_key(database_url: str) -> None:
    async with in_process(database_url, RECEIVER_INGEST_QUOTA_PER_HOUR="3") as client:

        async def metrics() -> str:
            response = await client.get("/metrics", headers={"X-API-Key": ADMIN_KEY})
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain")
            return response.text

        before = await metrics()
        assert (await client.get("/metrics", headers={"X-API-Key": SUBMIT_KEY})).status_code == 403
        assert (await client.get("/metrics")).status_code == 401
        same = str(uuid.uuid4())
        for installation_id in (same, same, str(uuid.uuid4())):
            assert (
                await client.post("/submit", content=body(installation_id), headers=JSON)
            ).status_code == 200
        assert (await client.post("/submit", content=b"{", headers=JSON)).status_code == 400
        assert (
            await client.post("/submit", content=body(str(uuid.uuid4())), headers=JSON)
        ).status_code == 429
        after = await metrics()
    counter = "receiver_submissions_total"
    expected = {
        ("stored", "ok"): 2,
        ("duplicate", "ok"): 1,
        ("refused", "malformed_json"): 1,
        ("limited", "ingest_quota_exceeded"): 1,
    }
    for (outcome, reason), delta in expected.items():
        change = sample(after, counter, outcome=outcome, reason=reason) - sample(
            before, counter, outcome=outcome, reason=reason
        )
        assert change == delta, (outcome, reason)
    assert (
        sample(after, "receiver_request_duration_seconds_count", route="/submit", method="POST")
        >= 5
    )
    assert "receiver_limiter_entries" in after


def test_two_workers_report_their_sum(tmp_path: Path) -> None:
    """Multiprocess metrics do not depend on the database: SQLite only."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'receiver.db'}"
    with run_receiver(database_url, tmp_path, server_env(), workers=2) as receiver:
        with httpx.Client(timeout=30) as http:
            for _ in range(20):
                response = http.post(
                    f"{receiver.url}/submit", content=body(str(uuid.uuid4())), headers=JSON
                )
                assert response.status_code == 200
        # new connections land on either worker; every answer holds both workers' counts
        answers = {
            sample(
                httpx.get(f"{receiver.url}/metrics", headers={"X-API-Key": ADMIN_KEY}).text,
                "receiver_submissions_total",
                outcome="stored",
                reason="ok",
            )
            for _ in range(6)
        }
    assert answers == {20.0}
