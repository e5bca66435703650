"""Seeded databases kept for the next run (`--reuse-seed` of bench/analytics_load.py).

Two levels, each named by a hash so a stale copy is never used:

- the *raw seed* (`seeded_<seed key>`): submissions, breakdown rows and latest states as the generator
  wrote them, before any rollup. Its key covers the generator's parameters, the demo world's source
  (receiver/demo/world.py), `SEED_FORMAT` (raise it when the way rows are built changes) and the ISO
  week of the run (the world is generated relative to "now").
- the *rolled seed* (`rolled_<seed key>_<rollup key>`): the raw seed after the rollups were built. Its
  second key covers every file that defines the rollups (the refresh, the summaries, the tables and
  the migrations), so changing any of them rebuilds the rollups from the raw seed (timed) instead.

PostgreSQL keeps them as template databases (`CREATE DATABASE x TEMPLATE seeded_…`, a file copy);
SQLite as files under bench/results/seeds/. The seed's figures (counts, timings) are kept beside it.
"""

import asyncio
import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from bench._databases import POSTGRES_ADMIN_DSN, BenchDatabase
from bench._servers import ROOT

SEED_FORMAT = 1
SQLITE_SEEDS = ROOT / "bench/results/seeds"
ROLLUP_SOURCES = (
    "receiver/analytics/model_rollups.py",
    "receiver/analytics/rollup_refresh.py",
    "receiver/analytics/rollup_rows.py",
    "receiver/analytics/summaries.py",
    "receiver/db/tables.py",
)
MIGRATIONS = "receiver/db/migrations/versions"


def _digest(parts: list[str | bytes]) -> str:
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(part.encode() if isinstance(part, str) else part)
        hashed.update(b"\0")
    return hashed.hexdigest()[:12]


def seed_key(kind: str, parameters: dict[str, Any], today: date | None = None) -> str:
    """The raw seed's key: generator parameters, the world's source, the week it was made in."""
    day = today or datetime.now(UTC).date()
    monday = day - timedelta(days=day.weekday())
    return _digest(
        [
            kind,
            json.dumps(parameters, sort_keys=True),
            str(SEED_FORMAT),
            monday.isoformat(),
            (ROOT / "receiver/demo/world.py").read_bytes(),
        ]
    )


def rollup_key() -> str:
    """Hash of everything that defines the rollups: changing any of it rebuilds them."""
    sources = [ROOT / name for name in ROLLUP_SOURCES]
    sources += sorted((ROOT / MIGRATIONS).glob("*.py"))
    return _digest([path.read_bytes() for path in sources])


@dataclass(frozen=True)
class SeedNames:
    raw: str
    rolled: str


def seed_names(kind: str, parameters: dict[str, Any]) -> SeedNames:
    key = seed_key(kind, parameters)
    return SeedNames(raw=f"seeded_{key}", rolled=f"rolled_{key}_{rollup_key()}")


# -- PostgreSQL: template databases ---------------------------------------------------------------


async def _admin_fetch(query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


def postgres_seed_figures(name: str) -> dict[str, Any] | None:
    """The figures kept with a template (its comment), or None when there is no such template."""
    rows = asyncio.run(
        _admin_fetch(
            "SELECT shobj_description(oid, 'pg_database') AS figures FROM pg_database "
            "WHERE datname = $1",
            name,
        )
    )
    if not rows:
        return None
    figures: dict[str, Any] = json.loads(rows[0]["figures"] or "{}")
    return figures


def keep_postgres_seed(database: BenchDatabase, name: str, figures: dict[str, Any]) -> None:
    """Copy the (unused) bench database to the template `name`, replacing older rolled seeds."""
    source = database.postgres_dsn.rsplit("/", 1)[1] if database.postgres_dsn else ""
    prefix = name.rsplit("_", 1)[0] + "_" if name.startswith("rolled_") else name

    async def keep() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
        try:
            stale = await connection.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1 || '%'", prefix
            )
            for row in stale:
                await connection.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}"')
            await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
            comment = json.dumps(figures).replace("'", "''")
            await connection.execute(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'")
        finally:
            await connection.close()

    asyncio.run(keep())


# -- SQLite: files ------------------------------------------------------------------------------


def sqlite_seed_figures(name: str) -> dict[str, Any] | None:
    path = SQLITE_SEEDS / f"{name}.db"
    figures = SQLITE_SEEDS / f"{name}.json"
    if not path.exists() or not figures.exists():
        return None
    found: dict[str, Any] = json.loads(figures.read_text())
    return found


def keep_sqlite_seed(database: BenchDatabase, name: str, figures: dict[str, Any]) -> None:
    assert database.sqlite_path is not None
    SQLITE_SEEDS.mkdir(parents=True, exist_ok=True)
    if name.startswith("rolled_"):
        for stale in SQLITE_SEEDS.glob(name.rsplit("_", 1)[0] + "_*"):
            stale.unlink()
    shutil.copyfile(database.sqlite_path, SQLITE_SEEDS / f"{name}.db")
    (SQLITE_SEEDS / f"{name}.json").write_text(json.dumps(figures))


def seed_figures(kind: str, name: str) -> dict[str, Any] | None:
    return postgres_seed_figures(name) if kind == "postgresql" else sqlite_seed_figures(name)


def keep_seed(database: BenchDatabase, name: str, figures: dict[str, Any]) -> None:
    if database.kind == "postgresql":
        keep_postgres_seed(database, name, figures)
    else:
        keep_sqlite_seed(database, name, figures)
