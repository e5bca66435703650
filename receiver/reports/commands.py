"""Command line: `printernizer-receiver report` (print or send a report) and `rollup` (bring the
analytics rollups up to date now, e.g. after upgrading a large database)."""

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime
from typing import Any

from receiver.analytics.refresher import RollupRefresher
from receiver.analytics.rollup_refresh import refresh_rollups
from receiver.analytics.service import AnalyticsService
from receiver.config import ReportPeriod, Settings
from receiver.db.engine import create_engine
from receiver.db.schema_version import ensure_schema
from receiver.db.transactions import Database
from receiver.reports.html import render_html
from receiver.reports.mail import ReportNotConfigured, send_report
from receiver.reports.periods import NoCompleteWeek
from receiver.reports.service import build_report
from receiver.reports.text import render_text

COMMANDS = ("report", "rollup")


def add_commands(commands: Any) -> None:
    report = commands.add_parser("report", help="print or e-mail the weekly or monthly report")
    report.add_argument("--period", choices=["weekly", "monthly"], default="weekly")
    report.add_argument(
        "--at",
        type=date.fromisoformat,
        help="a day of the week / month to report (default: the last complete one)",
    )
    report.add_argument("--format", choices=["text", "html"], default="text")
    report.add_argument(
        "--send", action="store_true", help="send it to RECEIVER_REPORT_TO instead of printing"
    )
    commands.add_parser("rollup", help="bring the analytics rollups up to date now")


async def _report(settings: Settings, args: argparse.Namespace) -> None:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        await ensure_schema(engine, may_upgrade=False)
        database = Database(engine)
        stats = AnalyticsService(database, RollupRefresher(database, 0))
        kind: ReportPeriod = "monthly" if args.period == "monthly" else "weekly"
        report, document = await build_report(stats, kind, datetime.now(UTC), args.at)
        if args.send:
            await send_report(document, settings.reports)
            print(
                f"sent the {kind} report {report.label} to {len(settings.reports.recipients)} recipients"
            )
        else:
            print(render_html(document) if args.format == "html" else render_text(document))
    finally:
        await engine.dispose()


async def _rollup(settings: Settings) -> None:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        await ensure_schema(engine, may_upgrade=False)
        read = await refresh_rollups(Database(engine), datetime.now(UTC))
        print(f"rollups are up to date ({read} submissions read)")
    finally:
        await engine.dispose()


def run_command(settings: Settings, args: argparse.Namespace) -> None:
    try:
        if args.command == "report":
            asyncio.run(_report(settings, args))
        elif args.command == "rollup":
            asyncio.run(_rollup(settings))
    except (ReportNotConfigured, NoCompleteWeek) as error:
        print(f"printernizer-receiver: {error}", file=sys.stderr)
        sys.exit(2)
