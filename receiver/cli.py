"""Command line: `printernizer-receiver` (= `python -m receiver`): serve, db upgrade, keys, purge,
demo-data."""

import argparse
import asyncio
import atexit
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import uvicorn

from receiver.analytics.export import MAX_LIMIT, ExportFilter, export_filter, export_line
from receiver.analytics.repository import AnalyticsRepository
from receiver.config import Settings, SettingsError, check_production_keys, load_settings
from receiver.db.engine import create_engine
from receiver.db.schema_version import SchemaOutOfDate, ensure_schema, upgrade_to_head
from receiver.db.transactions import Database
from receiver.errors import ApiError
from receiver.http_protocol import (
    HEAD_TIMEOUT_VARIABLE,
    MAX_HEAD_VARIABLE,
    BoundedHeadProtocol,
)
from receiver.logs import configure_logging
from receiver.metrics import MULTIPROCESS_VARIABLE
from receiver.progress import Progress
from receiver.reports import commands as report_commands
from receiver.retention import purge
from receiver.security.keys import generate_key

EXPORT_PAGE = 1000
SERVERS = ("uvicorn", "granian")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="printernizer-receiver", description="Printernizer Usage receiver"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server (settings from RECEIVER_*)")
    serve.add_argument("--host", help="overrides RECEIVER_HOST")
    serve.add_argument("--port", type=int, help="overrides RECEIVER_PORT")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--server",
        choices=SERVERS,
        help="HTTP server (overrides RECEIVER_SERVER; default uvicorn with httptools and uvloop)",
    )
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="upgrade the schema to the newest migration")
    keys = commands.add_parser("keys", help="generate a random submit key and admin key")
    keys.add_argument("--format", choices=["text", "env"], default="text")
    purge_parser = commands.add_parser("purge", help="delete data older than the retention")
    purge_parser.add_argument("--days", type=int, help="overrides RECEIVER_RETENTION_DAYS")
    export = commands.add_parser(
        "export", help="write stored submissions as JSON Lines (as GET /stats/export)"
    )
    export.add_argument("--since", help="ISO date: periods starting on or after it")
    export.add_argument("--until", help="ISO date: periods starting on or before it")
    export.add_argument("--output", help="file to write (default: standard output)")
    demo = commands.add_parser(
        "demo-data",
        help="fill an empty database (RECEIVER_DATABASE_URL) with realistic generated data",
    )
    demo.add_argument("--installations", type=_bounded(1, 200_000), default=300, help="default 300")
    demo.add_argument("--weeks", type=_bounded(12, 156), default=78, help="default 78")
    demo.add_argument("--seed", type=int, default=2026, help="same seed, same data")
    report_commands.add_commands(commands)
    return parser


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


async def _prepare_database(settings: Settings) -> None:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        await ensure_schema(engine, may_upgrade=settings.is_development)
    finally:
        await engine.dispose()


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    from receiver.app import with_development_keys  # noqa: PLC0415

    settings = with_development_keys(settings)
    check_production_keys(settings)
    # Workers are separate processes: hand them the (possibly generated) keys via the environment,
    # and migrate once here so workers never race each other.
    os.environ["RECEIVER_SUBMIT_KEYS"] = ",".join(settings.submit_keys)
    os.environ["RECEIVER_ADMIN_KEYS"] = ",".join(settings.admin_keys)
    # each worker takes its share of RECEIVER_INGEST_QUOTA_PER_HOUR
    os.environ["RECEIVER_WORKERS"] = str(args.workers)
    os.environ[MAX_HEAD_VARIABLE] = str(settings.max_head_bytes)
    os.environ[HEAD_TIMEOUT_VARIABLE] = str(settings.head_timeout_seconds)
    if args.workers > 1:
        _metrics_directory()
    asyncio.run(_prepare_database(settings))
    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal; exit normally
    # instead (exit code 0, atexit hooks run — e.g. coverage saves its data).
    signal.signal(signal.SIGTERM, _exit_normally)
    host, port = args.host or settings.host, args.port or settings.port
    if (args.server or os.environ.get("RECEIVER_SERVER", "uvicorn")) == "granian":
        _serve_granian(host, port, args.workers)
        return
    uvicorn.run(
        "receiver.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        loop="uvloop",
        http=BoundedHeadProtocol,  # httptools, with a bounded request head (http_protocol.py)
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=False,
    )


def _serve_granian(host: str, port: int, workers: int) -> None:
    """The same app on granian (Rust HTTP, ASGI interface, uvloop); bench/receiver_load.py compares
    the two servers side by side (docs/receiver.md, Performance)."""
    from granian import Granian  # noqa: PLC0415
    from granian.constants import Interfaces, Loops  # noqa: PLC0415

    Granian(
        "receiver.app:create_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        loop=Loops.uvloop,
        workers=workers,
        log_enabled=False,
        log_access=False,
        respawn_failed_workers=True,
    ).serve()


def _metrics_directory() -> None:
    """Several workers share their metrics through files (prometheus-client's multiprocess mode):
    a fresh directory per `serve`, or the configured one emptied (stale files would add up)."""
    directory = os.environ.get(MULTIPROCESS_VARIABLE)
    if directory:
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
        return
    created = tempfile.mkdtemp(prefix="receiver-metrics-")
    os.environ[MULTIPROCESS_VARIABLE] = created
    atexit.register(shutil.rmtree, created, ignore_errors=True)


def _exit_normally(signum: int, frame: object) -> None:
    sys.exit(0)


async def _upgrade(settings: Settings) -> None:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


async def _purge(settings: Settings, days: int) -> None:
    engine = create_engine(settings.database_url, pool_size=1)
    progress = Progress("purge: expired submissions deleted", None)
    try:
        await ensure_schema(engine, may_upgrade=False)

        def report(done: int, total: int) -> None:
            progress.total = total
            progress.update(done)

        result = await purge(Database(engine), days, progress=report)
        progress.finish(result.submissions)
    finally:
        await engine.dispose()
    print(
        f"purged submissions={result.submissions} installations={result.installations} "
        f"rate_limits={result.rate_limits} (older than {days} days)"
    )


def _demo_data(settings: Settings, args: argparse.Namespace) -> None:
    from receiver.demo.load import DemoDataError, fill_database  # noqa: PLC0415
    from receiver.demo.world import DemoConfig, planted_anomalies  # noqa: PLC0415

    config = DemoConfig(installations=args.installations, weeks=args.weeks, seed=args.seed)
    print(
        f"demo data: {config.installations} installations over {config.weeks} ISO weeks "
        f"into {settings.database_url}",
        file=sys.stderr,
    )
    try:
        result = asyncio.run(fill_database(settings.database_url, config))
    except DemoDataError as error:
        print(f"printernizer-receiver demo-data: {error}", file=sys.stderr)
        sys.exit(2)
    print(
        f"stored {result.submissions} submissions from {result.installations} installations "
        f"in {result.seconds:.1f} s; planted anomalies:"
    )
    for anomaly in planted_anomalies(config):
        year, week, _ = anomaly.week.isocalendar()
        print(f"  {year}-W{week:02d} {anomaly.kind}: {anomaly.description}")
    print("open the dashboard: printernizer-receiver serve, then http://127.0.0.1:8080/dashboard")


async def _export(settings: Settings, args: argparse.Namespace, output: BinaryIO) -> None:
    """Every matching submission as JSON Lines (the lines of GET /stats/export), page by page, with
    progress on stderr."""
    export = export_filter(args.since, args.until, str(MAX_LIMIT))
    export = ExportFilter(export.since, export.until, limit=2**62)
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        await ensure_schema(engine, may_upgrade=False)
        analytics = AnalyticsRepository(Database(engine))
        progress = Progress("export: submissions written", None)
        written, after = 0, 0
        while page := await analytics.export_page(export, after, EXPORT_PAGE):
            output.write(b"".join(export_line(row) for _, row in page))
            written += len(page)
            after = page[-1][0]
            progress.update(written)
            if len(page) < EXPORT_PAGE:
                break
        output.flush()
        progress.finish(written)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "keys":
        submit_key, admin_key = generate_key(), generate_key()
        if args.format == "env":
            print(f"RECEIVER_SUBMIT_KEYS={submit_key}\nRECEIVER_ADMIN_KEYS={admin_key}")
        else:
            print(f"submit key: {submit_key}\nadmin key:  {admin_key}")
        return
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        if args.command == "serve":
            _serve(settings, args)
        elif args.command == "db":
            asyncio.run(_upgrade(settings))
            print("database schema is up to date")
        elif args.command in report_commands.COMMANDS:
            report_commands.run_command(settings, args)
        elif args.command == "purge":
            asyncio.run(_purge(settings, args.days or settings.retention_days))
        elif args.command == "export":
            if args.output:
                with Path(args.output).open("wb") as output:
                    asyncio.run(_export(settings, args, output))
            else:
                asyncio.run(_export(settings, args, sys.stdout.buffer))
        elif args.command == "demo-data":
            _demo_data(settings, args)
    except (SettingsError, SchemaOutOfDate, ApiError) as error:
        print(f"printernizer-receiver: {error}", file=sys.stderr)
        sys.exit(2)
