"""Analytics benchmark (issue 10): a big seeded database, every analytics endpoint, the dashboard's data,
and ingest while the dashboard refreshes.

Run: `.venv/bin/python -m bench.analytics_load [--quick]`.

1. Seeds PostgreSQL with the demo world (receiver/demo/world.py: versions, modes, countries, fleets,
   growth, job outcomes per model, overlapping schema-1.0 windows, planted anomalies) at full size —
   100,000 installations over two ISO years, about 1,000,000 submissions — and SQLite with 10,000
   installations. Every payload passes the receiver's validation and row building (`decode_payload`,
   the ingest service's `_rows`), then the rows are bulk-loaded (PostgreSQL COPY; SQLite executemany in
   large transactions) instead of one request each; the rollups are then built by the receiver's own
   incremental refresh (`refresh_rollups`), timed too.
2. Starts a real receiver on the database with the answer cache off (RECEIVER_ANSWER_CACHE_SECONDS=0:
   what each answer costs) and times every analytics endpoint (sequential requests; p50 / p95 / max),
   and the dashboard's first load: sign in, then its eleven data requests at once over six connections
   like a browser (total time; then warm repeats).
3. Starts it again as deployed (answer cache on): the dashboard's loads, then ingest throughput
   (bench/receiver_load.py's load generator, new installations, concurrency 16) alone and while the
   dashboard reloads every `--refresh-interval` seconds: after a warm-up, alone and beside alternated
   4 times, 10 s each (one cycle of the background rollup refresh), so both see the same refresh work.

With `--reuse-seed` the seeded databases are kept (PostgreSQL template databases, SQLite files) and
used again by the next run: only the rollups are rebuilt, and only when their definition changed
(bench/_seed_cache.py); `--seed-only` just makes the kept seeds.

Targets: every endpoint p95 < 100 ms; dashboard data < 300 ms in total; ingest with the dashboard
refreshing >= 90 % of ingest alone. Prints a table and PASS/MISS per target and writes the figures as JSON
to bench/results/. `--quick`: 10,000 installations on PostgreSQL and 2,000 on SQLite, shorter loads.
"""

import argparse
import asyncio
import json
import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import sqlalchemy
from sqlalchemy import JSON, Table, insert

from bench._databases import (
    BenchDatabase,
    postgres_database,
    postgres_unavailable_reason,
    sqlite_database,
)
from bench._load import run_load
from bench._payloads import build_submit_requests
from bench._seed_cache import SQLITE_SEEDS, keep_seed, seed_figures, seed_names
from bench._servers import ROOT, RunningServers, run_servers
from receiver.analytics.rollup_refresh import refresh_rollups
from receiver.db.engine import create_engine
from receiver.db.partitions import ensure_coming_partitions, months_between
from receiver.db.schema_version import ensure_schema
from receiver.db.tables import (
    installations,
    submission_model_errors,
    submission_models,
    submissions,
)
from receiver.db.transactions import Database
from receiver.demo.world import DemoConfig, DemoWorld
from receiver.ingest.service import _rows
from receiver.ingest.validation import decode_payload
from receiver.security.ownership import secret_hash

RESULTS_DIR = ROOT / "bench/results"
ENDPOINT_P95_MS = 100.0
DASHBOARD_MS = 300.0
INGEST_SHARE = 0.90
BATCH = 20_000
# Short lives for most installations: 100,000 installations then send about 1,000,000 submissions
# over two years (most try it for a few weeks, a tenth stay), as the sizes ask.
CHURN_SHARE = 0.93
MEAN_LIFE_WEEKS = 4.0
WEEKS = 104
ROUNDS = 4  # ingest alone / beside the dashboard, alternated
# Each phase lasts one cycle of the background rollup refresh (the receiver's default
# RECEIVER_ROLLUP_INTERVAL_SECONDS): with shorter phases the refresh, whose cost dominates, fell into
# one kind of phase more often than the other and decided the ratio.
PHASE_SECONDS = 10.0


@dataclass(frozen=True)
class Size:
    postgres_installations: int
    sqlite_installations: int
    repeats: int
    ingest_seconds: float


FULL = Size(
    postgres_installations=100_000,
    sqlite_installations=10_000,
    repeats=30,
    ingest_seconds=PHASE_SECONDS,
)
QUICK = Size(
    postgres_installations=10_000,
    sqlite_installations=2_000,
    repeats=15,
    ingest_seconds=PHASE_SECONDS,
)

ENDPOINTS = (
    "/stats/overview?weeks=12",
    "/stats/installations?weeks=12",
    "/stats/versions?weeks=12",
    "/stats/deployment-modes?weeks=12",
    "/stats/countries?weeks=12",
    "/stats/printers?weeks=12",
    "/stats/features?weeks=12",
    "/stats/jobs?weeks=12",
    "/stats/errors?weeks=12",
    "/stats/anomalies?weeks=12",
    "/stats/reliability",
    "/stats/overview?weeks=104",
    "/stats/versions?weeks=104",
    "/stats/jobs?weeks=104",
    "/stats/anomalies?weeks=104",
    "/public/stats",
    "/stats/summary",
)


def dashboard_paths() -> list[str]:
    """The data requests of one dashboard load, read from dashboard.js (so they stay the same)."""
    script = (ROOT / "receiver/dashboard/static/dashboard.js").read_text()
    paths = re.findall(r"`(stats/[^`?]+|public/stats)(\?[^`]*)?`, render", script)
    found = []
    for path, template in paths:
        query = re.sub(r"since_week=\$\{since\}&until_week=\$\{until\}", "", template)
        found.append(f"/dashboard/api/{path}{query.replace('${range}', 'weeks=12').rstrip('?&')}")
    assert len(found) == 11, found
    return found


@dataclass
class SeedResult:
    installations: int = 0
    submissions: int = 0
    model_rows: int = 0
    error_rows: int = 0
    generate_s: float = 0.0
    load_s: float = 0.0
    refresh_s: float = 0.0
    reused: str = ""  # "", "raw" (rollups rebuilt) or "rolled" (used as kept)


@dataclass
class Timing:
    path: str
    p50_ms: float
    p95_ms: float
    max_ms: float
    status: int
    bytes: int


@dataclass
class DatabaseReport:
    kind: str
    seed: SeedResult
    endpoints: list[Timing] = field(default_factory=list)
    dashboard_first_ms: float = 0.0
    dashboard_warm_p50_ms: float = 0.0
    dashboard_warm_p95_ms: float = 0.0
    cached_dashboard_first_ms: float = 0.0  # the same with the answer cache on
    cached_dashboard_warm_p50_ms: float = 0.0
    cached_dashboard_warm_p95_ms: float = 0.0
    ingest_alone_per_s: float = 0.0
    ingest_with_dashboard_per_s: float = 0.0
    dashboard_loads_during_ingest: int = 0
    expected_loads: int = 1  # half of what the refresh interval allows during the ingest run
    dashboard_ms_during_ingest_p95: float = 0.0
    load_average: str = ""  # /proc/loadavg (1, 5, 15 minutes) before the measurements
    load_average_after: str = ""


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# -- seeding ------------------------------------------------------------------------------------


class _Writer:
    async def write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    async def finish(self, last_id: int) -> None:
        raise NotImplementedError


class _PostgresWriter(_Writer):
    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = [column.name for column in table.columns if column.name in rows[0]]
        as_json = {column.name for column in table.columns if isinstance(column.type, JSON)}
        records = [
            tuple(
                msgspec.json.encode(row[name]).decode() if name in as_json else row[name]
                for name in columns
            )
            for row in rows
        ]
        await self.connection.copy_records_to_table(table.name, records=records, columns=columns)

    async def finish(self, last_id: int) -> None:
        await self.connection.execute(
            "SELECT setval(pg_get_serial_sequence('submissions', 'id'), $1)", last_id
        )
        await self.connection.execute("ANALYZE")


class _SqliteWriter(_Writer):
    def __init__(self, path: Path) -> None:
        self.engine = sqlalchemy.create_engine(f"sqlite:///{path}")

    async def write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            with self.engine.begin() as connection:
                connection.execute(insert(table), rows)

    async def finish(self, last_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(sqlalchemy.text("ANALYZE"))
        self.engine.dispose()


def generator_parameters(installation_count: int) -> dict[str, Any]:
    """What the generated rows depend on (with the world's source: bench/_seed_cache.py)."""
    return {
        "installations": installation_count,
        "weeks": WEEKS,
        "seed": 10,
        "churn_share": CHURN_SHARE,
        "mean_life_weeks": MEAN_LIFE_WEEKS,
    }


async def seed(database: BenchDatabase, installation_count: int) -> SeedResult:
    """Fill `database` with the demo world at this size (no rollups yet); returns counts and timings."""
    result = SeedResult()
    parameters = generator_parameters(installation_count)
    config = DemoConfig(
        installations=parameters["installations"],
        weeks=parameters["weeks"],
        seed=parameters["seed"],
        churn_share=parameters["churn_share"],
        mean_life_weeks=parameters["mean_life_weeks"],
    )
    engine = create_engine(database.url, pool_size=2)
    await ensure_schema(engine, may_upgrade=True)
    # PostgreSQL: a partition for every month of the world (receiver/db/partitions.py)
    await ensure_coming_partitions(
        Database(engine), months_between(config.start_monday(), config.end_monday())
    )
    await engine.dispose()
    connection = (
        await asyncpg.connect(database.postgres_dsn) if database.postgres_dsn is not None else None
    )
    writer: _Writer = (
        _PostgresWriter(connection)
        if connection is not None
        else _SqliteWriter(database.sqlite_path or Path("unused"))
    )
    now = datetime.now(UTC)
    hashes: dict[str, str | None] = {}
    latest: dict[str, dict[str, Any]] = {}
    batch: dict[str, list[dict[str, Any]]] = {"submissions": [], "models": [], "errors": []}
    next_id = 0
    started = time.monotonic()

    async def flush() -> None:
        load_started = time.monotonic()
        await writer.write(submissions, batch["submissions"])
        await writer.write(submission_models, batch["models"])
        await writer.write(submission_model_errors, batch["errors"])
        result.load_s += time.monotonic() - load_started
        for rows in batch.values():
            rows.clear()

    try:
        for week_number, arrivals in enumerate(DemoWorld(config).submissions(now), start=1):
            for arrival in arrivals:
                installation_id = arrival.payload["installation"]["installation_id"]
                if installation_id not in hashes:
                    hashes[installation_id] = secret_hash(arrival.secret)
                valid = decode_payload(msgspec.json.encode(arrival.payload), now)
                state, row, breakdown = _rows(valid, hashes[installation_id], arrival.received_at)
                next_id += 1
                row["id"] = next_id
                batch["submissions"].append(row)
                for item in breakdown.models:
                    batch["models"].append(
                        {**item, "submission_id": next_id, "week": breakdown.week}
                    )
                for item in breakdown.errors:
                    batch["errors"].append(
                        {**item, "submission_id": next_id, "week": breakdown.week}
                    )
                result.model_rows += len(breakdown.models)
                result.error_rows += len(breakdown.errors)
                known = latest.get(installation_id)
                if known is not None:
                    first = min(known["first_received_at"], state["first_received_at"])
                    last = max(known["last_received_at"], state["last_received_at"])
                    if state["last_period_end"] < known["last_period_end"]:
                        state = known
                    state["first_received_at"], state["last_received_at"] = first, last
                latest[installation_id] = state
                if len(batch["submissions"]) >= BATCH:
                    await flush()
            if week_number % 13 == 0 or week_number == WEEKS:
                print(
                    f"  seeding {database.kind}: week {week_number}/{WEEKS}, {next_id} submissions",
                    flush=True,
                )
        await flush()
        load_started = time.monotonic()
        states = list(latest.values())
        for start in range(0, len(states), BATCH):
            await writer.write(installations, states[start : start + BATCH])
        await writer.finish(next_id)
        result.load_s += time.monotonic() - load_started
        result.generate_s = time.monotonic() - started - result.load_s
        result.submissions = next_id
        result.installations = len(latest)
    finally:
        if connection is not None:
            await connection.close()
    return result


async def build_rollups(database: BenchDatabase) -> float:
    """Bring the schema up to date (a kept seed may be older), build the rollups with the receiver's
    own incremental refresh, ANALYZE; returns the seconds the rollups took."""
    engine = create_engine(database.url, pool_size=2)
    try:
        await ensure_schema(engine, may_upgrade=True)
        started = time.monotonic()
        await refresh_rollups(Database(engine), datetime.now(UTC))
        elapsed = time.monotonic() - started
        async with engine.begin() as connection:
            await connection.execute(sqlalchemy.text("ANALYZE"))
    finally:
        await engine.dispose()
    return elapsed


def prepared_database(
    stack: ExitStack, kind: str, installation_count: int, workdir: Path, reuse: bool
) -> tuple[BenchDatabase, SeedResult]:
    """A seeded database with its rollups built: from a kept seed when `reuse` finds one (the rolled
    seed as it is; the raw seed with its rollups rebuilt and timed), otherwise seeded from scratch.
    With `reuse`, what was built is kept for the next run (bench/_seed_cache.py)."""
    names = seed_names(kind, generator_parameters(installation_count))
    rolled = seed_figures(kind, names.rolled) if reuse else None
    raw = seed_figures(kind, names.raw) if reuse and rolled is None else None
    source = names.rolled if rolled is not None else names.raw if raw is not None else None
    if kind == "postgresql":
        database = stack.enter_context(postgres_database(template=source))
    else:
        copy_of = SQLITE_SEEDS / f"{source}.db" if source is not None else None
        database = stack.enter_context(sqlite_database(workdir, copy_of=copy_of))
    if rolled is not None:
        print(f"  reusing the rolled seed {names.rolled}", flush=True)
        result = SeedResult(**rolled)
        result.reused = "rolled"
        return database, result
    if raw is not None:
        print(f"  reusing the raw seed {names.raw}; building the rollups", flush=True)
        result = SeedResult(**raw)
        result.reused = "raw"
    else:
        print(
            f"# {kind}: seeding {installation_count} installations over {WEEKS} weeks", flush=True
        )
        result = asyncio.run(seed(database, installation_count))
        if reuse:
            keep_seed(database, names.raw, asdict(result))
    result.refresh_s = asyncio.run(build_rollups(database))
    if reuse:
        keep_seed(database, names.rolled, {**asdict(result), "reused": ""})
    return database, result


# -- timing -------------------------------------------------------------------------------------


def time_endpoints(url: str, admin_key: str, repeats: int) -> list[Timing]:
    timings = []
    with httpx.Client(base_url=url, headers={"X-API-Key": admin_key}, timeout=120) as client:
        for path in ENDPOINTS:
            response = client.get(path)  # warm-up (and the rollup refresh, if one is due)
            client.get(path)
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                response = client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
            timings.append(
                Timing(
                    path=path,
                    p50_ms=statistics.median(samples),
                    p95_ms=_percentile(samples, 0.95),
                    max_ms=max(samples),
                    status=response.status_code,
                    bytes=len(response.content),
                )
            )
            print(f"  {path:40} p50 {timings[-1].p50_ms:7.1f} ms  p95 {timings[-1].p95_ms:7.1f} ms")
    return timings


async def _signed_in(url: str, admin_key: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        base_url=url,
        timeout=120,
        limits=httpx.Limits(max_connections=6, max_keepalive_connections=6),
    )
    page = await client.get("/dashboard/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None, page.text[:200]
    answer = await client.post(
        "/dashboard/sign-in",
        data={"admin_key": admin_key, "csrf_token": token[1]},
        headers={"Origin": url},
    )
    assert answer.status_code == 303, answer.text
    return client


async def dashboard_load(client: httpx.AsyncClient, paths: Sequence[str]) -> float:
    """One dashboard load's data: all requests at once (six connections); milliseconds in total."""
    started = time.perf_counter()
    answers = await asyncio.gather(*(client.get(path) for path in paths))
    elapsed = (time.perf_counter() - started) * 1000
    bad = [
        (path, answer.status_code)
        for path, answer in zip(paths, answers, strict=True)
        if answer.status_code != 200
    ]
    assert not bad, bad
    return elapsed


async def time_dashboard(url: str, admin_key: str, repeats: int) -> tuple[float, list[float]]:
    paths = dashboard_paths()
    client = await _signed_in(url, admin_key)
    try:
        first = await dashboard_load(client, paths)
        # 15 warm loads: one session may read 240 dashboard data requests a minute.
        warm = [await dashboard_load(client, paths) for _ in range(min(repeats, 15))]
    finally:
        await client.aclose()
    return first, warm


async def ingest_rates(
    servers: RunningServers,
    url: str,
    submit_key: str,
    admin_key: str,
    seconds: float,
    interval: float,
) -> tuple[float, float, list[float]]:
    """Ingest throughput alone and beside a reloading dashboard: after a warm-up of the same length
    (the background rollup refresh is then busy with the new submissions, as it is under steady
    ingest), `ROUNDS` times alone then beside — so both see the same share of refresh work (whose
    cycle is about the refresh interval plus its duration) and drift;
    returns (alone per second, beside per second, the dashboard loads' milliseconds)."""
    host = f"{servers.targets[0][0]}:{servers.targets[0][1]}"
    paths = dashboard_paths()
    client = await _signed_in(url, admin_key)
    loads: list[float] = []

    async def ingest() -> tuple[int, float]:
        requests = build_submit_requests(int(seconds * 1500) + 500, host, submit_key)
        result = await run_load(servers.targets, requests, 16, seconds)
        return result.ok, result.elapsed_s

    async def beside_the_dashboard() -> tuple[int, float]:
        stop = asyncio.Event()

        async def refreshing() -> None:
            while not stop.is_set():
                loads.append(await dashboard_load(client, paths))
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)

        task = asyncio.create_task(refreshing())
        try:
            return await ingest()
        finally:
            stop.set()
            await task

    try:
        await ingest()  # warm-up
        alone, beside = [0, 0.0], [0, 0.0]
        rates: list[str] = []
        for _ in range(ROUNDS):
            for totals, phase in ((alone, ingest), (beside, beside_the_dashboard)):
                stored, elapsed = await phase()
                totals[0] += stored
                totals[1] += elapsed
                rates.append(f"{stored / elapsed:.0f}")
        print(f"  per phase (alone, beside, …): {' '.join(rates)} /s", flush=True)
    finally:
        await client.aclose()
    return alone[0] / alone[1], beside[0] / beside[1], loads


# -- the run ------------------------------------------------------------------------------------


def keep_raw_seed(kind: str, installation_count: int, workdir: Path) -> None:
    """`--seed-only`: make sure the raw seed of this size is kept (no rollups, no measurements)."""
    names = seed_names(kind, generator_parameters(installation_count))
    if seed_figures(kind, names.raw) is not None:
        print(f"  {kind}: the raw seed {names.raw} is already kept", flush=True)
        return
    with ExitStack() as stack:
        database = stack.enter_context(
            postgres_database() if kind == "postgresql" else sqlite_database(workdir)
        )
        print(
            f"# {kind}: seeding {installation_count} installations over {WEEKS} weeks", flush=True
        )
        result = asyncio.run(seed(database, installation_count))
        keep_seed(database, names.raw, asdict(result))
        print(f"  kept as {names.raw}: {result}", flush=True)


def bench_database(
    kind: str, installation_count: int, size: Size, workdir: Path, interval: float, reuse: bool
) -> DatabaseReport:
    submit_key, admin_key = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    env = {
        "RECEIVER_ENVIRONMENT": "development",
        "RECEIVER_SUBMIT_KEYS": submit_key,
        "RECEIVER_ADMIN_KEYS": admin_key,
        "RECEIVER_RATE_LIMIT_PER_HOUR": "1000000",
        "RECEIVER_CLIENT_RATE_LIMIT_PER_MINUTE": "0",
        "RECEIVER_ADMIN_RATE_LIMIT_PER_MINUTE": "0",
        "RECEIVER_NEW_INSTALLATIONS_PER_ADDRESS_PER_DAY": "0",
        "RECEIVER_INGEST_QUOTA_PER_HOUR": "0",
        "RECEIVER_LOG_LEVEL": "WARNING",
    }
    with ExitStack() as stack:
        database, seeded = prepared_database(stack, kind, installation_count, workdir, reuse)
        print(
            f"  {seeded.submissions} submissions, {seeded.model_rows} model rows from "
            f"{seeded.installations} installations: generated in {seeded.generate_s:.0f} s, loaded "
            f"in {seeded.load_s:.0f} s, rollups built in {seeded.refresh_s:.0f} s"
            + (f" (reused the {seeded.reused} seed)" if seeded.reused else ""),
            flush=True,
        )
        report = DatabaseReport(kind=kind, seed=seeded, load_average=_load_average())
        served = {**env, "RECEIVER_DATABASE_URL": database.url}
        # what each answer costs: the answer cache off (RECEIVER_ANSWER_CACHE_SECONDS=0)
        uncached = {**served, "RECEIVER_ANSWER_CACHE_SECONDS": "0"}
        with run_servers(1, uncached, workdir) as servers:
            try:
                _measure_answers(report, servers, size, admin_key)
            except Exception:
                print(f"receiver log:\n{servers.log_tail(60)}", flush=True)
                raise
        # as deployed (the answer cache on): the dashboard again, and ingest beside it
        with run_servers(1, served, workdir) as servers:
            try:
                _measure_with_cache(report, servers, size, submit_key, admin_key, interval)
            except Exception:
                print(f"receiver log:\n{servers.log_tail(60)}", flush=True)
                raise
        report.load_average_after = _load_average()
    return report


def _load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _measure_answers(
    report: DatabaseReport, servers: RunningServers, size: Size, admin_key: str
) -> None:
    """Every endpoint and the dashboard's loads, each answer computed (the answer cache off)."""
    url = f"http://{servers.targets[0][0]}:{servers.targets[0][1]}"
    print(f"  load average before the measurements: {report.load_average}", flush=True)
    print("  answer cache off:", flush=True)
    report.endpoints = time_endpoints(url, admin_key, size.repeats)
    (
        report.dashboard_first_ms,
        report.dashboard_warm_p50_ms,
        report.dashboard_warm_p95_ms,
    ) = _dashboard_figures(url, admin_key, size.repeats)


def _dashboard_figures(url: str, admin_key: str, repeats: int) -> tuple[float, float, float]:
    """The dashboard's data: first load, warm p50 and p95 (ms), printed."""
    first, warm = asyncio.run(time_dashboard(url, admin_key, repeats))
    p50, p95 = statistics.median(warm), _percentile(warm, 0.95)
    print(
        f"  dashboard data: first load {first:.0f} ms, warm p50 {p50:.1f} ms, p95 {p95:.1f} ms",
        flush=True,
    )
    return first, p50, p95


def _measure_with_cache(
    report: DatabaseReport,
    servers: RunningServers,
    size: Size,
    submit_key: str,
    admin_key: str,
    interval: float,
) -> None:
    """The dashboard with the answer cache on (as deployed), then ingest alone and beside it."""
    url = f"http://{servers.targets[0][0]}:{servers.targets[0][1]}"
    print(f"  answer cache on (load average {_load_average()}):", flush=True)
    (
        report.cached_dashboard_first_ms,
        report.cached_dashboard_warm_p50_ms,
        report.cached_dashboard_warm_p95_ms,
    ) = _dashboard_figures(url, admin_key, size.repeats)
    alone, together, loads = asyncio.run(
        ingest_rates(servers, url, submit_key, admin_key, size.ingest_seconds, interval)
    )
    report.ingest_alone_per_s = alone
    report.ingest_with_dashboard_per_s = together
    report.dashboard_loads_during_ingest = len(loads)
    report.expected_loads = max(1, int(ROUNDS * size.ingest_seconds / interval / 2))
    report.dashboard_ms_during_ingest_p95 = _percentile(loads, 0.95) if loads else 0.0
    print(
        f"  ingest alone {alone:.0f}/s, with the dashboard reloading every {interval:g} s "
        f"{together:.0f}/s ({together / alone:.0%}); {len(loads)} dashboard loads, p95 "
        f"{report.dashboard_ms_during_ingest_p95:.0f} ms",
        flush=True,
    )


def verdicts(reports: Sequence[DatabaseReport]) -> list[tuple[str, bool, str]]:
    found = []
    for report in reports:
        worst = max(report.endpoints, key=lambda timing: timing.p95_ms)
        found.append(
            (
                f"{report.kind}: every endpoint p95 < {ENDPOINT_P95_MS:.0f} ms",
                worst.p95_ms < ENDPOINT_P95_MS and all(t.status == 200 for t in report.endpoints),
                f"worst {worst.path} {worst.p95_ms:.0f} ms",
            )
        )
        found.append(
            (
                f"{report.kind}: dashboard data < {DASHBOARD_MS:.0f} ms (first load)",
                report.dashboard_first_ms < DASHBOARD_MS,
                f"first {report.dashboard_first_ms:.0f} ms, warm p95 "
                f"{report.dashboard_warm_p95_ms:.0f} ms",
            )
        )
        share = report.ingest_with_dashboard_per_s / max(report.ingest_alone_per_s, 1e-9)
        # Only a dashboard that really kept refreshing counts (a load stuck behind a rollup refresh
        # that chases the ingest would make ingest look unaffected).
        kept_refreshing = report.dashboard_loads_during_ingest >= report.expected_loads
        found.append(
            (
                f"{report.kind}: ingest with the dashboard refreshing >= {INGEST_SHARE:.0%} of alone",
                share >= INGEST_SHARE and kept_refreshing,
                f"{share:.0%} ({report.ingest_with_dashboard_per_s:.0f} vs "
                f"{report.ingest_alone_per_s:.0f}/s); {report.dashboard_loads_during_ingest} "
                f"dashboard loads (wanted >= {report.expected_loads}), p95 "
                f"{report.dashboard_ms_during_ingest_p95:.0f} ms",
            )
        )
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics_load", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 / 2,000 installations")
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--installations", type=int, help="PostgreSQL size (overrides the profile)")
    parser.add_argument(
        "--reuse-seed",
        action="store_true",
        help="keep the seeded databases (PostgreSQL templates, SQLite files) and reuse them; "
        "rollups are rebuilt when their definition changed (bench/_seed_cache.py)",
    )
    parser.add_argument(
        "--seed-only",
        action="store_true",
        help="only generate and keep the raw seeds for --reuse-seed (no rollups, no measurements)",
    )
    parser.add_argument(
        "--refresh-interval", type=float, default=2.0, help="seconds between dashboard loads"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    size = QUICK if args.quick else FULL
    kinds = [kind.strip() for kind in args.databases.split(",") if kind.strip()]
    if "postgresql" in kinds and (reason := postgres_unavailable_reason()) is not None:
        print(f"skipping PostgreSQL: {reason}")
        kinds.remove("postgresql")
    reports = []
    with tempfile.TemporaryDirectory(prefix="analytics-bench-") as workdir:
        for kind in kinds:
            count = (
                (args.installations or size.postgres_installations)
                if kind == "postgresql"
                else size.sqlite_installations
            )
            if args.seed_only:
                keep_raw_seed(kind, count, Path(workdir))
                continue
            reports.append(
                bench_database(
                    kind, count, size, Path(workdir), args.refresh_interval, args.reuse_seed
                )
            )
    if args.seed_only:
        return
    print("\nTargets")
    for name, passed, detail in verdicts(reports):
        print(f"  {'PASS' if passed else 'MISS'}  {name}: {detail}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"analytics-load-{stamp}.json"
    document = {
        "profile": "quick" if args.quick else "full",
        "reports": [asdict(report) for report in reports],
        "verdicts": [
            {"target": name, "passed": passed, "detail": detail}
            for name, passed, detail in verdicts(reports)
        ],
    }
    path.write_text(json.dumps(document, indent=2, default=str))
    print(f"\nresults: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
