"""`printernizer-receiver demo-data`: a realistic generated database, stored through the ingest path."""

import os
import subprocess
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path

from receiver.demo.world import BUGGY_RELEASE, DemoConfig, DemoWorld, planted_anomalies
from tests.receiver.conftest import query
from tests.receiver_server import ROOT

CONFIG = DemoConfig(installations=40, weeks=20, seed=3, end=date(2026, 11, 23))


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "receiver", "demo-data", *args],
        env={**os.environ, "RECEIVER_DATABASE_URL": database_url},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_demo_data_fills_an_empty_database_and_refuses_a_used_one(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    filled = _cli(url, "--installations", "40", "--weeks", "16", "--seed", "5")
    assert filled.returncode == 0, filled.stderr
    assert "demo data [" in filled.stderr  # the progress bar
    assert "planted anomalies" in filled.stdout
    for kind in ("submission_surge", "error_spike", "version_failure", "installation_drop"):
        assert kind in filled.stdout

    (submissions,) = await query(url, "SELECT count(*) FROM submissions")
    assert submissions[0] > 200
    versions = await query(url, "SELECT DISTINCT schema_version FROM submissions ORDER BY 1")
    assert [row[0] for row in versions] == ["1.0", "1.1"]
    (breakdown,) = await query(url, "SELECT count(*) FROM submission_models")
    assert breakdown[0] > 0
    (installations,) = await query(url, "SELECT count(*) FROM installations")
    assert 10 < installations[0] <= 40

    again = _cli(url, "--installations", "40", "--weeks", "16")
    assert again.returncode == 2
    assert "already holds" in again.stderr
    assert _cli(url, "--weeks", "3").returncode == 2  # bounded parameters


def test_the_world_is_reproducible_and_has_its_mixes() -> None:
    now = CONFIG.end_monday()

    moment = datetime.combine(now, time(12), tzinfo=UTC)
    first = [s.payload for week in DemoWorld(CONFIG).submissions(moment) for s in week]
    second = [s.payload for week in DemoWorld(CONFIG).submissions(moment) for s in week]
    assert first == second
    modes = {p["installation"]["deployment_mode"] for p in first}
    assert {"haos", "docker"} <= modes
    assert len({p["installation"]["country_code"] for p in first}) >= 5
    # Schema 1.0 windows of one installation overlap (sent every 1 or 3 days).
    windows: dict[str, list[str]] = {}
    for payload in first:
        if payload["schema_version"] == "1.0":
            windows.setdefault(payload["installation"]["installation_id"], []).append(
                payload["period"]["end"]
            )
    assert max(len(ends) for ends in windows.values()) > CONFIG.weeks
    anomalies = planted_anomalies(CONFIG)
    assert [a.kind for a in anomalies] == [
        "submission_surge",
        "error_spike",
        "version_failure",
        "installation_drop",
    ]
    assert BUGGY_RELEASE in anomalies[2].description
