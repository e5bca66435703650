"""The command line's long jobs show progress on stderr: `export` (JSON Lines) and `purge`."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.payloads import load_payloads
from tests.receiver.conftest import ADMIN_KEY, SUBMIT_KEY, count, in_process

EXAMPLE = load_payloads("valid")["printernizer-1.0-example"]


def cli(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RECEIVER_DATABASE_URL": database_url,
        "RECEIVER_SUBMIT_KEYS": SUBMIT_KEY,
        "RECEIVER_ADMIN_KEYS": ADMIN_KEY,
    }
    return subprocess.run(
        [sys.executable, "-m", "receiver", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_export_and_purge_report_progress(database_url: str, tmp_path: Path) -> None:
    async with in_process(database_url) as client:
        for _ in range(12):
            payload = json.loads(json.dumps(EXAMPLE))
            payload["installation"]["installation_id"] = str(uuid.uuid4())
            response = await client.post(
                "/submit",
                content=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json", "X-API-Key": SUBMIT_KEY},
            )
            assert response.status_code == 200
    output = tmp_path / "export.jsonl"
    exported = cli("export", "--output", str(output), database_url=database_url, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    lines = output.read_text().splitlines()
    assert len(lines) == 12
    assert {json.loads(line)["schema_version"] for line in lines} == {"1.0"}
    assert "export: submissions written: 12" in exported.stderr
    assert "export: submissions written: 12 done in" in exported.stderr
    purged = cli("purge", "--days", "1", database_url=database_url, cwd=tmp_path)
    assert purged.returncode == 0, purged.stderr
    assert "purge: expired submissions deleted: 12/12 (100 %)" in purged.stderr
    assert "purged submissions=12" in purged.stdout
    assert await count(database_url, "submissions") == 0
