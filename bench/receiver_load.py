"""Receiver ingest benchmark: real server processes, SQLite and PostgreSQL, 1 and 2 workers.

Run: `.venv/bin/python -m bench.receiver_load [--quick]`. Prints a table and PASS/MISS per target
(issue 3) and writes the results as JSON to bench/results/.
"""

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop

from bench._databases import (
    BenchDatabase,
    postgres_database,
    postgres_unavailable_reason,
    sqlite_database,
)
from bench._load import LoadResult, run_load
from bench._payloads import build_get_request, build_submit_requests
from bench._procstat import (
    own_cpu_seconds,
    pids_cpu_seconds,
    process_tree_cpu_seconds,
    user_cpu_seconds,
    user_uid,
)
from bench._protection_cost import protection_microseconds
from bench._report import Level, format_row, format_table, verdicts
from bench._servers import ROOT, RunningServers, cli_help, run_servers
from bench._validation_cost import validation_microseconds

RESULTS_DIR = ROOT / "bench/results"
SUBMISSIONS_TABLE = "submissions"
DRY_RUN_VARIABLE = "RECEIVER_BENCH_DRY_RUN"
LEVELS = (1, 16, 64, 256)
WORKER_COUNTS = (1, 2)
MIN_POOL = 3000
MAX_RATE_PER_S = 6000


# Every issue-9 protection switched on, with limits high enough never to refuse the benchmark's
# traffic (each check still runs): a trusted proxy sends X-Forwarded-For (8192 client addresses), the
# per-address limit, the new-installation cap per address, the hourly quota; the 1.1 week/age rules
# and metrics are always on.
PROTECTIONS_ON = {
    "RECEIVER_TRUSTED_PROXIES": "127.0.0.1/32",
    "RECEIVER_CLIENT_RATE_LIMIT_PER_MINUTE": "1000000000",
    "RECEIVER_NEW_INSTALLATIONS_PER_ADDRESS_PER_DAY": "1000000000",
    "RECEIVER_INGEST_QUOTA_PER_HOUR": "1000000000000",
}
PROTECTIONS_OFF = {
    "RECEIVER_CLIENT_RATE_LIMIT_PER_MINUTE": "0",
    "RECEIVER_NEW_INSTALLATIONS_PER_ADDRESS_PER_DAY": "0",
    "RECEIVER_INGEST_QUOTA_PER_HOUR": "0",
}


@dataclass(frozen=True)
class Profile:
    duration_s: float
    warmup_requests: int


FULL = Profile(duration_s=8.0, warmup_requests=1000)
QUICK = Profile(duration_s=1.5, warmup_requests=600)


def _run_async[T](coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine())


def _healthy(servers: RunningServers) -> bool:
    for host, port in servers.targets:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=5) as response:
                if response.status != 200:
                    return False
        except OSError:
            return False
    return True


def dry_run_supported() -> bool:
    """The receiver offers a switch that runs the ingest path without the database write."""
    config = ROOT / "receiver/config.py"
    return config.exists() and DRY_RUN_VARIABLE in config.read_text()


class Bench:
    def __init__(
        self,
        profile: Profile,
        workdir: Path,
        log_level: str,
        server: str = "uvicorn",
        protections: bool = True,
    ) -> None:
        self.profile = profile
        self.workdir = workdir
        self.submit_key = secrets.token_urlsafe(24)
        self.behind_proxy = protections
        self.env = {
            "RECEIVER_ENVIRONMENT": "development",
            "RECEIVER_SUBMIT_KEYS": self.submit_key,
            "RECEIVER_ADMIN_KEYS": secrets.token_urlsafe(24),
            "RECEIVER_RATE_LIMIT_PER_HOUR": "1000000",
            "RECEIVER_LOG_LEVEL": log_level,
            "RECEIVER_SERVER": server,
            # The ingest path alone: the analytics' background rollup refresh (every 10 s by default)
            # would fall into a 1.5 s level or not, by chance. Its cost beside ingest is measured by
            # bench/analytics_load.py (ingest alone vs beside the refresh, whole refresh cycles).
            "RECEIVER_ROLLUP_INTERVAL_SECONDS": "0",
            **(PROTECTIONS_ON if protections else PROTECTIONS_OFF),
        }
        self.postgres_uid = user_uid("postgres")
        self.levels: list[Level] = []
        self._postgres_pids: list[int] = []

    def _database_cpu(self, database: BenchDatabase) -> tuple[float, float] | None:
        """(CPU of this database's backends + background processes, CPU of all postgres processes).

        Other databases on the same server (e.g. concurrently running tests) only show in the second.
        """
        if database.kind != "postgresql" or self.postgres_uid is None:
            return None
        return pids_cpu_seconds(self._postgres_pids), user_cpu_seconds(self.postgres_uid)

    def _measure(
        self,
        *,
        label: str,
        workers: int,
        concurrency: int,
        servers: RunningServers,
        requests: Sequence[bytes],
        database: BenchDatabase | None,
    ) -> Level:
        rows_before = database.count_rows(SUBMISSIONS_TABLE) if database else None
        load_average = os.getloadavg()[0]
        if database and database.kind == "postgresql":
            self._postgres_pids = database.postgres_pids()
        server_before = process_tree_cpu_seconds(servers.pids)
        database_before = self._database_cpu(database) if database else None
        client_before = own_cpu_seconds()

        host = f"{servers.targets[0][0]}:{servers.targets[0][1]}"
        prime = build_get_request("/health", host)

        async def load() -> LoadResult:
            return await run_load(
                servers.targets, requests, concurrency, self.profile.duration_s, prime=prime
            )

        result = _run_async(load)
        client_cpu = own_cpu_seconds() - client_before
        server_cpu = process_tree_cpu_seconds(servers.pids) - server_before
        database_after = self._database_cpu(database) if database else None
        database_cpu, all_postgres_cpu = (
            (None, None)
            if database_before is None or database_after is None
            else (
                database_after[0] - database_before[0],
                database_after[1] - database_before[1],
            )
        )
        rows_after = database.count_rows(SUBMISSIONS_TABLE) if database else None
        level = Level(
            database=label,
            workers=workers,
            concurrency=concurrency,
            load=result,
            server_cpu_s=server_cpu,
            database_cpu_s=database_cpu,
            client_cpu_s=client_cpu,
            rows_stored=None
            if rows_before is None or rows_after is None
            else rows_after - rows_before,
            healthy_after=_healthy(servers),
            load_average=load_average,
        )
        level.all_postgres_cpu_s = all_postgres_cpu
        if result.requests_exhausted:
            level.notes.append("pre-built requests ran out before the deadline (shorter level)")
        if result.error_samples:
            level.notes.append("errors: " + " | ".join(result.error_samples))
        self.levels.append(level)
        print(format_row(level), flush=True)
        return level

    def _pool_size(self, expected_rate: float) -> int:
        wanted = int(expected_rate * self.profile.duration_s * 3)
        return max(MIN_POOL, min(wanted, int(MAX_RATE_PER_S * self.profile.duration_s)))

    def _warm_up(
        self, servers: RunningServers, database: BenchDatabase | None, concurrency: int
    ) -> None:
        """Steady state before the clock starts: every client connection of the busiest level
        opened once and the servers' database connections in use."""
        host = f"{servers.targets[0][0]}:{servers.targets[0][1]}"
        requests = (
            build_submit_requests(
                self.profile.warmup_requests, host, self.submit_key, behind_proxy=self.behind_proxy
            )
            if database
            else [build_get_request("/health", host)] * self.profile.warmup_requests
        )

        async def load() -> LoadResult:
            return await run_load(servers.targets, requests, concurrency, 60.0)

        result = _run_async(load)
        if database and result.ok == 0:
            raise RuntimeError(
                f"warm-up stored nothing: statuses {dict(result.status_counts)}, "
                f"errors {result.error_samples}\n{servers.log_tail()}"
            )

    def run_storing(self, database: BenchDatabase, workers: int, levels: Sequence[int]) -> None:
        env = {**self.env, "RECEIVER_DATABASE_URL": database.url}
        upgrade_schema(env)
        with run_servers(workers, env, self.workdir) as servers:
            print(f"# {database.kind}, {workers} worker(s): {servers.mode}", flush=True)
            self._warm_up(servers, database, max(levels))
            expected = 1000.0
            for concurrency in levels:
                host = f"{servers.targets[0][0]}:{servers.targets[0][1]}"
                requests = build_submit_requests(
                    self._pool_size(expected), host, self.submit_key, behind_proxy=self.behind_proxy
                )
                level = self._measure(
                    label=database.kind,
                    workers=workers,
                    concurrency=concurrency,
                    servers=servers,
                    requests=requests,
                    database=database,
                )
                expected = max(expected, level.ok_per_s)

    def run_ceiling_health(self, workers: int, levels: Sequence[int]) -> None:
        """Ceiling without the dry-run switch: GET /health through the same server stack."""
        with sqlite_database(self.workdir) as database:
            env = {**self.env, "RECEIVER_DATABASE_URL": database.url}
            upgrade_schema(env)
            with run_servers(workers, env, self.workdir) as servers:
                print(f"# ceiling (GET /health), {workers} worker(s): {servers.mode}", flush=True)
                self._warm_up(servers, None, max(levels))
                host = f"{servers.targets[0][0]}:{servers.targets[0][1]}"
                request = build_get_request("/health", host)
                for concurrency in levels:
                    pool = [request] * int(30000 * self.profile.duration_s)
                    self._measure(
                        label="ceiling",
                        workers=workers,
                        concurrency=concurrency,
                        servers=servers,
                        requests=pool,
                        database=None,
                    )

    def run_ceiling_dry_run(self, workers: int, levels: Sequence[int]) -> None:
        """Ceiling with the receiver's dry-run switch: POST /submit without the database write."""
        with sqlite_database(self.workdir) as database:
            env = {**self.env, "RECEIVER_DATABASE_URL": database.url, DRY_RUN_VARIABLE: "1"}
            upgrade_schema(env)
            with run_servers(workers, env, self.workdir) as servers:
                print(f"# ceiling ({DRY_RUN_VARIABLE}=1), {workers} worker(s)", flush=True)
                self._warm_up(servers, None, max(levels))
                host = f"{servers.targets[0][0]}:{servers.targets[0][1]}"
                for concurrency in levels:
                    requests = build_submit_requests(
                        self._pool_size(3000), host, self.submit_key, behind_proxy=self.behind_proxy
                    )
                    self._measure(
                        label="ceiling",
                        workers=workers,
                        concurrency=concurrency,
                        servers=servers,
                        requests=requests,
                        database=None,
                    )

    def attach_ceilings(self) -> None:
        ceilings = {
            (lv.workers, lv.concurrency): lv.ok_per_s
            for lv in self.levels
            if lv.database == "ceiling"
        }
        for level in self.levels:
            if level.database != "ceiling":
                level.ceiling_per_s = ceilings.get((level.workers, level.concurrency))


def upgrade_schema(env: dict[str, str]) -> None:
    """Bring the database to the current schema once, before (several) servers start."""
    if "upgrade" not in cli_help("db"):
        return
    subprocess.run(
        [sys.executable, "-m", "receiver", "db", "upgrade"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )


@contextmanager
def _databases(include_postgres: bool) -> Iterator[list[str]]:
    kinds = ["sqlite"]
    if include_postgres:
        reason = postgres_unavailable_reason()
        if reason is None:
            kinds.append("postgresql")
        else:
            print(f"# skipping PostgreSQL: {reason}", flush=True)
    yield kinds


@contextmanager
def _database(kind: str, workdir: Path) -> Iterator[BenchDatabase]:
    if kind == "postgresql":
        with postgres_database() as database:
            yield database
    else:
        with sqlite_database(workdir) as database:
            yield database


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.receiver_load", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short levels (about a minute)")
    parser.add_argument("--duration", type=float, help="seconds per level (overrides the profile)")
    parser.add_argument(
        "--levels", type=lambda text: [int(x) for x in text.split(",")], default=list(LEVELS)
    )
    parser.add_argument(
        "--workers",
        type=lambda text: [int(x) for x in text.split(",")],
        default=list(WORKER_COUNTS),
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--ceiling", choices=["auto", "health", "dry-run", "none"], default="auto")
    parser.add_argument("--log-level", default="INFO", help="RECEIVER_LOG_LEVEL of the servers")
    parser.add_argument("--server", choices=["uvicorn", "granian"], default="uvicorn")
    parser.add_argument(
        "--protections",
        choices=["on", "off"],
        default="on",
        help="issue 9's abuse protections (on: active with non-binding limits, behind a proxy)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    profile = QUICK if args.quick else FULL
    if args.duration:
        profile = Profile(duration_s=args.duration, warmup_requests=profile.warmup_requests)
    ceiling = args.ceiling
    if ceiling == "auto":
        ceiling = "dry-run" if dry_run_supported() else "health"
    started = time.monotonic()
    validation_us = validation_microseconds()
    print(
        f"# receiver gunzip+decode+validate in-process: {validation_us:.1f} us/payload", flush=True
    )
    protection_us = protection_microseconds()
    for name, microseconds in protection_us.items():
        print(f"# protection in-process: {name}: {microseconds:.2f} us/request", flush=True)
    wanted = args.databases.split(",")
    with tempfile.TemporaryDirectory(prefix="receiver-bench-") as tmp:
        workdir = Path(tmp)
        bench = Bench(
            profile, workdir, args.log_level, args.server, protections=args.protections == "on"
        )
        print(f"# server {args.server}, protections {args.protections}", flush=True)
        with _databases("postgresql" in wanted) as kinds:
            for workers in args.workers:
                for kind in kinds:
                    if kind not in wanted:
                        continue
                    with _database(kind, workdir) as database:
                        bench.run_storing(database, workers, args.levels)
                if ceiling == "health":
                    bench.run_ceiling_health(workers, args.levels)
                elif ceiling == "dry-run":
                    bench.run_ceiling_dry_run(workers, args.levels)
    bench.attach_ceilings()
    print()
    print(format_table(bench.levels))
    ceiling_text = {
        "health": "GET /health through the same server stack (no database, no body)",
        "dry-run": f"POST /submit with {DRY_RUN_VARIABLE}=1 (validated, no database write)",
        "none": "not measured",
    }[ceiling]
    print(f"\nceiling = {ceiling_text}; in-process validation {validation_us:.1f} us/payload")
    found = verdicts(bench.levels)
    print("\nTargets (issue 3):")
    for verdict in found:
        print("  " + verdict.line())
    output = write_json(
        bench,
        profile,
        ceiling_text,
        validation_us,
        found,
        time.monotonic() - started,
        {"server": args.server, "protections": args.protections, "protection_us": protection_us},
    )
    print(f"\nresults: {output.relative_to(ROOT)}  ({time.monotonic() - started:.0f} s)")


def write_json(
    bench: Bench,
    profile: Profile,
    ceiling: str,
    validation_us: float,
    found: Sequence[Any],
    elapsed_s: float,
    setup: dict[str, Any],
) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"receiver-load-{stamp}.json"
    document = {
        "created": stamp,
        **setup,
        "profile": {"duration_s": profile.duration_s, "warmup": profile.warmup_requests},
        "cpu_count": os.cpu_count(),
        "ceiling": ceiling,
        "validation_us_per_payload": validation_us,
        "levels": [level.as_json() for level in bench.levels],
        "targets": [{"target": v.target, "passed": v.passed, "detail": v.detail} for v in found],
        "elapsed_s": elapsed_s,
    }
    path.write_text(json.dumps(document, indent=2))
    return path


if __name__ == "__main__":
    main()
