"""Weekly and monthly reports: built from the analytics answers (their numbers equal the API's), sent
over SMTP to a real local SMTP server (aiosmtpd) by the CLI and by the schedule, escaped in HTML."""

import asyncio
import email
import email.policy
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import insert

from receiver.analytics.refresher import RollupRefresher
from receiver.analytics.service import AnalyticsService
from receiver.config import ReportSettings, SettingsError, load_settings
from receiver.db.engine import create_engine
from receiver.db.tables import submissions
from receiver.db.transactions import Database
from receiver.ingest.weeks import attributed_week
from receiver.reports.scheduler import ReportScheduler
from tests.receiver.analytics_world import ENV, WEEK, World, generate, submit_all, this_monday
from tests.receiver.conftest import (
    ADMIN_KEY,
    SUBMIT_KEY,
    app_client,
    database_copy,
)
from tests.receiver_server import free_port

LAST_WEEK = this_monday() - WEEK
HOSTILE = '<script>alert("x")</script>&<b>'
RECIPIENTS = ("maintainer@example.org", "second@example.org")


@dataclass
class Mailbox:
    """A real SMTP server on 127.0.0.1 that keeps what it receives."""

    port: int
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.arrived.set()
        return "250 OK"

    def wait(self, count: int = 1, timeout: float = 30) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"{len(self.messages)} messages arrived"
        return [
            email.message_from_bytes(content, policy=email.policy.default)
            for _, _, content in self.messages
        ]

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "RECEIVER_SMTP_HOST": "127.0.0.1",
            "RECEIVER_SMTP_PORT": str(self.port),
            "RECEIVER_SMTP_SECURITY": "none",
            "RECEIVER_REPORT_FROM": "receiver@example.org",
            "RECEIVER_REPORT_TO": ",".join(RECIPIENTS),
            **extra,
        }


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


def fact(text: str, label: str) -> str:
    match = re.search(rf"^  {re.escape(label)}:\s+(.+)$", text, re.MULTILINE)
    assert match is not None, (label, text)
    return match.group(1).strip()


def cli(
    *args: str, database_url: str, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "receiver", *args],
        cwd=cwd,
        env={
            **os.environ,
            "RECEIVER_DATABASE_URL": database_url,
            "RECEIVER_SUBMIT_KEYS": SUBMIT_KEY,
            "RECEIVER_ADMIN_KEYS": ADMIN_KEY,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class Seeded:
    http: httpx.Client
    url: str
    database_url: str
    tmp: Path

    def api(self, path: str, **params: str) -> Any:
        response = self.http.get(
            f"{self.url}{path}", headers={"X-API-Key": ADMIN_KEY}, params=params
        )
        assert response.status_code == 200, response.text
        return response.json()


async def store_hostile_submission(database_url: str) -> None:
    """A stored submission whose strings validation would refuse — as if written by a bug or an
    older release: the report must still show them as text."""
    engine = create_engine(database_url, pool_size=1)
    start = datetime.combine(LAST_WEEK, datetime.min.time(), tzinfo=UTC)
    end = start + WEEK
    aggregate = {
        "schema_version": "1.1",
        "installation": {
            "installation_id": "ffffffff-0000-4000-8000-000000000001",
            "app_version": HOSTILE,
        },
        "printer_fleet": {"printer_count": 1, "printer_type_counts": {HOSTILE: 1}},
        "usage_stats": {"job_count": 0, "uptime_hours": 1, "feature_usage": {HOSTILE: True}},
        "error_summary": {"total_errors": 1, HOSTILE: 1},
    }
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(submissions).values(
                    installation_id="ffffffff-0000-4000-8000-000000000001",
                    period_start=start,
                    period_end=end,
                    week_start=attributed_week(end),
                    received_at=datetime.now(UTC),
                    schema_version="1.1",
                    country_code="DE",
                    deployment_mode=HOSTILE,
                    data_source=None,
                    printer_count=1,
                    job_count=0,
                    aggregate=aggregate,
                )
            )
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def seeded_once(module_database_url: str) -> str:
    """The generated world and one hostile row, stored once per module and database (the app in
    process); each test gets a copy."""
    world: World = generate(5, installations=18, weeks=10)
    with app_client(module_database_url, **ENV) as http:
        submit_all(http, "", world)
        refused = http.post(
            "/submit",
            json={
                **world.sent[0][1],
                "installation": {**world.sent[0][1]["installation"], "deployment_mode": HOSTILE},
            },
            headers={"X-API-Key": SUBMIT_KEY},
        )
        assert refused.status_code == 400  # validation keeps markup out in the first place
    asyncio.run(store_hostile_submission(module_database_url))
    return module_database_url


@pytest.fixture
def seeded(seeded_once: str, tmp_path: Path) -> Iterator[Seeded]:
    with (
        database_copy(seeded_once, tmp_path) as database_url,
        app_client(database_url, **ENV) as http,
    ):
        yield Seeded(http, "", database_url, tmp_path)


def iso(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def test_the_weekly_report_arrives_with_the_apis_numbers_and_escaped_values(
    seeded: Seeded, mailbox: Mailbox
) -> None:
    sent = cli(
        "report",
        "--period",
        "weekly",
        "--send",
        database_url=seeded.database_url,
        cwd=seeded.tmp,
        env=mailbox.env(),
    )
    assert sent.returncode == 0, sent.stderr
    (message,) = mailbox.wait()
    assert mailbox.messages[0][1] == list(RECIPIENTS)
    assert message["Subject"] == f"Printernizer Usage — weekly report {iso(LAST_WEEK)}"
    text, html = parts(message)
    week = {"until_week": iso(LAST_WEEK), "weeks": "1"}
    installations = seeded.api("/stats/installations", until_week=iso(LAST_WEEK), weeks="8")
    jobs = seeded.api("/stats/jobs", **week)["totals"]
    errors = seeded.api("/stats/errors", **week)
    versions = seeded.api("/stats/versions", **week)
    assert fact(text, f"Active in {iso(LAST_WEEK)}") == str(installations["series"][-1]["active"])
    assert fact(text, "Installations in all") == str(installations["total"])
    assert fact(text, "Active in the last 30 days") == str(installations["active_30d"])
    assert fact(text, "Completed") == str(jobs["completed"])
    assert fact(text, "Failed") == str(jobs["failed"])
    assert fact(text, "Success rate") == f"{100 * jobs['success_rate']:.1f} %"
    assert fact(text, "Print hours") == f"{jobs['print_hours']:.2f}"
    assert fact(text, "Errors") == str(errors["total"])
    assert fact(text, "Newest integration version") == versions["newest"]["integration"]
    assert f"GET /stats/jobs?until_week={iso(LAST_WEEK)}&weeks=1" in text
    for entry in versions["current"]:
        if entry["product"] == "integration" and entry["version"] != HOSTILE:
            assert re.search(
                rf"integration\s+{re.escape(entry['version'])}\s+{entry['installations']}\s", text
            )
    # the hostile strings are shown, as text
    assert HOSTILE in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&lt;b&gt;" in html
    assert "<script" not in html
    assert HOSTILE not in html


def test_the_monthly_report_prints_without_sending(seeded: Seeded) -> None:
    month = LAST_WEEK.replace(day=1)
    printed = cli(
        "report",
        "--period",
        "monthly",
        "--at",
        LAST_WEEK.isoformat(),
        database_url=seeded.database_url,
        cwd=seeded.tmp,
        env={},
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.startswith(f"Printernizer Usage — monthly report {month:%Y-%m}")
    mondays = [
        month + timedelta(days=d)
        for d in range(31)
        if (month + timedelta(days=d)).month == month.month
        and (month + timedelta(days=d)).weekday() == 0
        and month + timedelta(days=d) <= LAST_WEEK  # a running month: its complete weeks
    ]
    jobs = seeded.api("/stats/jobs", until_week=iso(mondays[-1]), weeks=str(len(mondays)))
    assert fact(printed.stdout, "Completed") == str(jobs["totals"]["completed"])
    html = cli(
        "report",
        "--period",
        "monthly",
        "--format",
        "html",
        database_url=seeded.database_url,
        cwd=seeded.tmp,
        env={},
    )
    assert html.returncode == 0, html.stderr
    assert html.stdout.startswith("<!DOCTYPE html>")
    refused = cli("report", "--send", database_url=seeded.database_url, cwd=seeded.tmp, env={})
    assert refused.returncode == 2
    assert "RECEIVER_SMTP_HOST" in refused.stderr


def test_the_schedule_sends_each_due_report_once(seeded: Seeded, mailbox: Mailbox) -> None:
    settings = load_settings(mailbox.env(RECEIVER_REPORTS="weekly,monthly"))
    reports = settings.reports

    async def scenario() -> list[list[str]]:
        engine = create_engine(seeded.database_url, pool_size=4)
        try:
            database = Database(engine)
            stats = AnalyticsService(database, RollupRefresher(database, 0))
            due = datetime.combine(
                LAST_WEEK + WEEK + timedelta(days=1), datetime.min.time(), tzinfo=UTC
            ) + timedelta(hours=6)
            before = ReportScheduler(
                stats, database, reports, clock=lambda: due - timedelta(minutes=1)
            )
            at_due = [
                ReportScheduler(stats, database, reports, clock=lambda: due) for _ in range(3)
            ]
            results = [await before.tick()]
            # three workers at the same moment: one sends each report
            results += await asyncio.gather(*(scheduler.tick() for scheduler in at_due))
            results.append(await at_due[0].tick())
            return results
        finally:
            await engine.dispose()

    before, *workers, again = asyncio.run(scenario())
    sent = [label for labels in workers for label in labels]
    assert before == [] or before == [
        f"monthly {(LAST_WEEK.replace(day=1) - timedelta(days=1)):%Y-%m}"
    ]
    assert f"weekly {iso(LAST_WEEK)}" in sent
    assert len(sent) == len(set(sent))
    assert again == []
    messages = mailbox.wait(len(before) + len(sent))
    assert len(messages) == len(before) + len(sent)


def test_the_server_sends_a_due_report_by_itself(seeded: Seeded, mailbox: Mailbox) -> None:
    # weekday 1, hour 0: the last complete week's report was due this Monday at midnight
    env = mailbox.env(
        RECEIVER_REPORTS="weekly", RECEIVER_REPORT_WEEKDAY="1", RECEIVER_REPORT_HOUR="0"
    )
    # the app's own schedule (its lifespan), in this process: no request asks for the report
    with app_client(seeded.database_url, **ENV, **env):
        (message,) = mailbox.wait(timeout=60)
    assert message["Subject"].endswith(f"weekly report {iso(LAST_WEEK)}")


def test_report_settings_are_checked() -> None:
    assert load_settings({}).reports == ReportSettings()
    for environ in (
        {"RECEIVER_REPORTS": "weekly"},  # no SMTP
        {"RECEIVER_REPORTS": "daily"},
        {"RECEIVER_SMTP_SECURITY": "ssl"},
        {"RECEIVER_REPORT_WEEKDAY": "8"},
        {"RECEIVER_REPORT_HOUR": "24"},
    ):
        with pytest.raises(SettingsError):
            load_settings(environ)
    json.dumps(load_settings({"RECEIVER_REPORT_TO": "a@b.c, d@e.f"}).reports.recipients)
