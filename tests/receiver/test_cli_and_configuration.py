"""The command line and start-up rules: keys, production refusals, migrations, retention."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, update
from sqlalchemy.ext.asyncio import create_async_engine

from receiver.cli import main
from receiver.db.partitions import include_in_comparison
from receiver.db.tables import metadata, rate_limits, submissions
from tests.payloads import load_payloads
from tests.receiver.conftest import ADMIN_KEY, SUBMIT_KEY, count, in_process
from tests.receiver_server import run_receiver

PAYLOAD = load_payloads("valid")["printernizer-1.0-example"]


def cli(
    *args: str, database_url: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "RECEIVER_DATABASE_URL": database_url,
        "RECEIVER_ENVIRONMENT": "production",
        "RECEIVER_SUBMIT_KEYS": SUBMIT_KEY,
        "RECEIVER_ADMIN_KEYS": ADMIN_KEY,
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "receiver", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cli_in_process(
    *args: str,
    database_url: str,
    cwd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`cli` without a new interpreter, for commands that answer before serving or touching a
    database (the start-up refusals): the same `main` and exit code, the same output."""
    full_env = {
        "RECEIVER_DATABASE_URL": database_url,
        "RECEIVER_ENVIRONMENT": "production",
        "RECEIVER_SUBMIT_KEYS": SUBMIT_KEY,
        "RECEIVER_ADMIN_KEYS": ADMIN_KEY,
        **(env or {}),
    }
    for name in [name for name in os.environ if name.startswith("RECEIVER_")]:
        monkeypatch.delenv(name)
    for name, value in full_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(cwd)
    code = 0
    try:
        main(list(args))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, captured.out, captured.err)


def test_keys_command_prints_two_env_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli_in_process(
        "keys",
        "--format",
        "env",
        database_url="unused",
        cwd=tmp_path,
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 0
    assert [line.split("=", 1)[0] for line in lines] == [
        "RECEIVER_SUBMIT_KEYS",
        "RECEIVER_ADMIN_KEYS",
    ]
    submit_key, admin_key = (line.split("=", 1)[1] for line in lines)
    assert len(submit_key) >= 40
    assert submit_key != admin_key


@pytest.mark.parametrize(
    ("submit_keys", "admin_keys"),
    [
        ("", ""),
        ("", ADMIN_KEY),
        (SUBMIT_KEY, ""),
        ("change-me", ADMIN_KEY),
        ("short", ADMIN_KEY),
        (SUBMIT_KEY, SUBMIT_KEY),
    ],
)
def test_production_refuses_to_start_without_real_keys(
    tmp_path: Path,
    submit_keys: str,
    admin_keys: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = cli_in_process(
        "serve",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
        cwd=tmp_path,
        monkeypatch=monkeypatch,
        capsys=capsys,
        env={
            "RECEIVER_SUBMIT_KEYS": submit_keys,
            "RECEIVER_ADMIN_KEYS": admin_keys,
            "RECEIVER_PORT": "1",
        },
    )
    assert result.returncode == 2
    assert "RECEIVER_" in result.stderr
    assert "Traceback" not in result.stderr


def test_development_without_keys_generates_and_prints_them(
    database_url: str, tmp_path: Path
) -> None:
    env = {
        "RECEIVER_ENVIRONMENT": "development",
        "RECEIVER_SUBMIT_KEYS": "",
        "RECEIVER_ADMIN_KEYS": "",
    }
    with run_receiver(database_url, tmp_path, env) as receiver:
        log = receiver.log_text()
        submit_key = log.split("RECEIVER_SUBMIT_KEYS=", 1)[1].split()[0]
        response = httpx.post(
            f"{receiver.url}/submit", json=PAYLOAD, headers={"X-API-Key": submit_key}
        )
        assert response.status_code == 200
    assert log.count("RECEIVER_SUBMIT_KEYS=") == 1


@pytest.mark.empty_database
def test_production_refuses_an_out_of_date_schema_until_upgraded(
    database_url: str, tmp_path: Path
) -> None:
    refused = cli("serve", database_url=database_url, cwd=tmp_path, env={"RECEIVER_PORT": "1"})
    assert refused.returncode == 2
    assert "db upgrade" in refused.stderr
    upgraded = cli("db", "upgrade", database_url=database_url, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "up to date" in upgraded.stdout
    with run_receiver(
        database_url,
        tmp_path,
        {
            "RECEIVER_ENVIRONMENT": "production",
            "RECEIVER_SUBMIT_KEYS": SUBMIT_KEY,
            "RECEIVER_ADMIN_KEYS": ADMIN_KEY,
        },
    ) as receiver:
        response = httpx.post(
            f"{receiver.url}/submit", json=PAYLOAD, headers={"X-API-Key": SUBMIT_KEY}
        )
    assert response.status_code == 200


async def age_everything(database_url: str, when: datetime) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(update(submissions).values(period_end=when))
            await connection.execute(update(rate_limits).values(window_start=0))
    finally:
        await engine.dispose()


def _schema_differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"include_name": include_in_comparison})
    return list(compare_metadata(context, metadata))


@pytest.mark.empty_database
async def test_migrations_match_the_table_definitions(database_url: str, tmp_path: Path) -> None:
    assert cli("db", "upgrade", database_url=database_url, cwd=tmp_path).returncode == 0
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_schema_differences)
    finally:
        await engine.dispose()
    assert differences == []


async def test_purge_deletes_submissions_older_than_the_retention(
    database_url: str, tmp_path: Path
) -> None:
    async with in_process(database_url) as client:
        stored = await client.post("/submit", json=PAYLOAD, headers={"X-API-Key": SUBMIT_KEY})
        assert stored.status_code == 200
    await age_everything(database_url, datetime.now(UTC) - timedelta(days=800))
    kept = cli(
        "purge", database_url=database_url, cwd=tmp_path, env={"RECEIVER_RETENTION_DAYS": "900"}
    )
    assert kept.returncode == 0, kept.stderr
    assert await count(database_url, "submissions") == 1
    purged = cli("purge", database_url=database_url, cwd=tmp_path)
    assert purged.returncode == 0, purged.stderr
    assert "submissions=1" in purged.stdout
    assert await count(database_url, "submissions") == 0
    assert await count(database_url, "rate_limits") == 0


def test_production_refuses_the_benchmark_dry_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli_in_process(
        "serve",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
        cwd=tmp_path,
        monkeypatch=monkeypatch,
        capsys=capsys,
        env={"RECEIVER_BENCH_DRY_RUN": "1", "RECEIVER_PORT": "1"},
    )
    assert result.returncode == 2
    assert "RECEIVER_BENCH_DRY_RUN" in result.stderr


async def statuses_with_dry_run(database_url: str) -> list[int]:
    async with in_process(database_url, RECEIVER_BENCH_DRY_RUN="1") as client:
        stored = await client.post("/submit", json=PAYLOAD, headers={"X-API-Key": SUBMIT_KEY})
        bad_key = await client.post(
            "/submit", json=PAYLOAD, headers={"X-API-Key": "not-a-key-at-all-0000"}
        )
        invalid = await client.post(
            "/submit", json={"schema_version": "1.0"}, headers={"X-API-Key": SUBMIT_KEY}
        )
    return [stored.status_code, bad_key.status_code, invalid.status_code]


async def test_benchmark_dry_run_checks_everything_but_stores_nothing(database_url: str) -> None:
    assert await statuses_with_dry_run(database_url) == [200, 401, 400]
    assert await count(database_url, "submissions") == 0
    assert await count(database_url, "installations") == 0
