"""The report schedule: a background task of each worker process that sends every due report once.

Each report is claimed in the `sent_reports` table first (an atomic insert shared by every worker and
host), so only one process sends it; a send that fails releases the claim and is tried again at the
next check, and a claim left behind by a process that died is taken over after `STALE_CLAIM`.
"""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.service import AnalyticsService
from receiver.config import ReportSettings
from receiver.db.dialect import upsert
from receiver.db.tables import sent_reports
from receiver.db.transactions import Database
from receiver.reports.mail import send_report
from receiver.reports.periods import ReportRange, report_range
from receiver.reports.schedule import due_at
from receiver.reports.service import build_report

log = structlog.get_logger("receiver.reports")

CHECK_EVERY = timedelta(minutes=5)
STALE_CLAIM = timedelta(hours=1)


class ReportScheduler:
    def __init__(
        self,
        stats: AnalyticsService,
        database: Database,
        settings: ReportSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.stats = stats
        self.database = database
        self.settings = settings
        self.clock = clock

    async def _claim(self, report: ReportRange, now: datetime) -> bool:
        statement = upsert(sent_reports, self.database.dialect_name).values(
            kind=report.kind, label=report.label, claimed_at=now, sent_at=None
        )
        current = sent_reports.c
        statement = statement.on_conflict_do_update(
            index_elements=[current.kind, current.label],
            set_={"claimed_at": statement.excluded.claimed_at},
            where=current.sent_at.is_(None) & (current.claimed_at < now - STALE_CLAIM),
        ).returning(current.kind)

        async def work(connection: AsyncConnection) -> bool:
            return (await connection.execute(statement)).first() is not None

        return await self.database.write(work)

    async def _finish(self, report: ReportRange, now: datetime, *, sent: bool) -> None:
        key = (sent_reports.c.kind == report.kind) & (sent_reports.c.label == report.label)

        async def work(connection: AsyncConnection) -> None:
            if sent:
                await connection.execute(update(sent_reports).where(key).values(sent_at=now))
            else:
                await connection.execute(delete(sent_reports).where(key))

        await self.database.write(work)

    async def tick(self) -> list[str]:
        """Send every report that is due and not yet sent; returns the labels sent."""
        now = self.clock()
        sent = []
        for kind in self.settings.scheduled:
            report = report_range(kind, now)
            if now < due_at(report, self.settings) or not await self._claim(report, now):
                continue
            try:
                _, document = await build_report(self.stats, kind, now, report.period.until)
                await send_report(document, self.settings)
            except Exception as error:
                await self._finish(report, now, sent=False)
                log.error(
                    "report_not_sent", kind=kind, label=report.label, error=type(error).__name__
                )
                continue
            await self._finish(report, self.clock(), sent=True)
            log.info("report_sent", kind=kind, label=report.label)
            sent.append(f"{kind} {report.label}")
        return sent

    async def run(self) -> None:
        """Check now and then every `CHECK_EVERY` until cancelled."""
        while True:
            try:
                await self.tick()
            except Exception as error:  # e.g. the database is down: try again later
                log.warning("report_schedule_failed", error=type(error).__name__)
            await asyncio.sleep(CHECK_EVERY.total_seconds())
