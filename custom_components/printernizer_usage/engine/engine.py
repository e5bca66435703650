"""The `UsageEngine` facade: the one object the Home Assistant layer talks to."""

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from . import outbox as outbox_module
from .aggregate import WeekAggregate, WeekSummary, summarize, week_bounds
from .database import Database
from .identities import Identities
from .job_tracker import JobState
from .models import FleetSnapshot, UsageEvent
from .outbox import Outbox
from .payload import InstallationContext, build_payload
from .printernizer_server import PrinternizerServer
from .recorder import Recorder
from .store import Store
from .timeutil import WEEK, as_utc, utc_now, week_start

# Weeks older than this are not enqueued after a long absence (the rollups may be incomplete anyway).
MAX_BACKFILL_WEEKS = 52


class UsageEngine:
    """Records printer usage locally, aggregates it per ISO week and builds the weekly payloads.

    Every method except `record` and `update_fleet` is a coroutine; none blocks the event loop (SQLite
    runs in aiosqlite's thread). Open with `await UsageEngine.open(path)`, always `await close()`.
    The outbox and audit log (`outbox`) and the sharing identities (`identities`) share its database.
    """

    def __init__(
        self,
        database: Database,
        store: Store,
        recorder: Recorder,
        clock: Callable[[], datetime],
    ) -> None:
        self._database = database
        self._store = store
        self._recorder = recorder
        self._clock = clock

        def epoch() -> float:
            return as_utc(clock()).timestamp()

        self.outbox = Outbox(database, epoch)
        self.identities = Identities(database)

    @classmethod
    async def open(
        cls,
        db_path: Path,
        *,
        clock: Callable[[], datetime] = utc_now,
        raw_retention_days: int = 90,
        flush_interval: float = 2.0,
        batch_size: int = 500,
    ) -> Self:
        """Open (creating or migrating) the database at `db_path`, start a new run-time session (uptime)
        and the background writer."""
        database = await Database.open(db_path)
        try:
            store = await Store.open(
                database,
                clock=lambda: as_utc(clock()).timestamp(),
                raw_retention_days=raw_retention_days,
            )
            await store.start_session()
        except BaseException:
            await database.close()
            raise
        recorder = Recorder(store, flush_interval=flush_interval, batch_size=batch_size)
        recorder.start()
        return cls(database, store, recorder, clock)

    async def close(self) -> None:
        """Flush the buffer, end the run-time session at now and close the database."""
        try:
            await self._recorder.close()
            await self._store.heartbeat()
        finally:
            await self._database.close()

    def record(self, event: UsageEvent) -> None:
        """Buffer one event (synchronous, O(1), never blocks, never raises)."""
        self._recorder.record(event)

    def update_fleet(self, fleet: FleetSnapshot) -> None:
        """Remember the printers currently known; stored (as counts only) with the next batch."""
        self._recorder.update_fleet(fleet, as_utc(self._clock()).timestamp())

    def open_job(self, printer_key: str) -> JobState | None:
        """The job that was open on this printer when the store was last written (a restart goes on
        with it), or None."""
        return self._store.open_job(printer_key)

    def update_job(self, printer_key: str, job: JobState) -> None:
        """Persist a printer's open job (or that none is open) with the next write."""
        self._recorder.update_job(printer_key, job)

    async def flush(self) -> None:
        """Write everything buffered now (and credit open print/online intervals up to now)."""
        await self._recorder.flush()

    async def heartbeat(self) -> None:
        """Mark Home Assistant as running until now: extends the current run-time session (uptime)."""
        await self._store.heartbeat()

    @property
    def raw_retention_days(self) -> int:
        return self._store.raw_retention_days

    async def aggregate(self, period_start: datetime, now: datetime | None = None) -> WeekAggregate:
        """The aggregate of the ISO week starting at `period_start` (so far, if it has not ended)."""
        await self.flush()
        start, end = week_bounds(period_start)
        moment = as_utc(now) if now is not None else as_utc(self._clock())
        return await self._store.aggregate(start, end, min(end, max(start, moment)))

    async def week_summary(self, now: datetime | None = None) -> WeekSummary:
        """The current ISO week so far, for the sensors."""
        moment = as_utc(now) if now is not None else as_utc(self._clock())
        return summarize(await self.aggregate(moment, moment))

    async def build_payload(
        self,
        period_start: datetime,
        context: InstallationContext,
        server: PrinternizerServer | None = None,
    ) -> dict[str, Any]:
        """The schema 1.1 payload of the ISO week starting at (or containing) `period_start`; with
        `server`, including what the Printernizer server reports for that week (if it answers)."""
        aggregate = await self.aggregate(period_start)
        usage = (
            await server.week_usage(aggregate.period_start, aggregate.period_end)
            if server is not None
            else None
        )
        return build_payload(aggregate, context, submitted_at=as_utc(self._clock()), server=usage)

    async def preview_next_payload(
        self, context: InstallationContext, server: PrinternizerServer | None = None
    ) -> dict[str, Any]:
        """What would be sent next: the oldest pending outbox payload of this installation, else the
        payload of the current week so far (as it would be if the week ended now)."""
        item = await self.outbox.oldest_pending(context.installation_id)
        if item is not None:
            return item.payload
        return await self.build_payload(as_utc(self._clock()), context, server)

    async def enqueue_completed_weeks(
        self,
        context: InstallationContext,
        now: datetime | None = None,
        server: PrinternizerServer | None = None,
    ) -> int:
        """Put every completed ISO week from the first week this installation id shares
        (`context.first_seen`, a week start; without it only the last completed week) or since the
        last enqueued week into the outbox, each exactly once. Returns how many were added."""
        moment = as_utc(now) if now is not None else as_utc(self._clock())
        current_week = week_start(moment)
        first = week_start(context.first_seen) if context.first_seen else current_week - WEEK
        last_enqueued = await self.outbox.last_enqueued_period(context.installation_id)
        if last_enqueued is not None:
            first = max(first, last_enqueued + WEEK)
        first = max(first, current_week - MAX_BACKFILL_WEEKS * WEEK)
        added = 0
        period = first
        while period + WEEK <= current_week:
            payload = await self.build_payload(period, context, server)
            if await self.outbox.enqueue(context.installation_id, period, payload):
                added += 1
            period += WEEK
        return added

    async def export_all(self) -> dict[str, Any]:
        """Everything stored locally, as JSON-ready data (settings, sharing identities without their
        secrets, rollups, raw events, sessions, outbox, audit log)."""
        await self.flush()
        return (
            await self._store.export_all()
            | {"identities": await self.identities.export()}
            | await self.outbox.export()
        )

    async def delete_local_data(self) -> None:
        """Delete all recorded data, the outbox and the audit log (settings and the sharing
        identities are kept; a new run-time session starts now)."""
        await self.flush()
        await self._store.delete_all_data(also=outbox_module.TABLES)

    async def get_setting(self, key: str) -> str | None:
        return await self._store.get_setting(key)

    async def set_setting(self, key: str, value: str | None) -> None:
        """Store a setting; `None` deletes it."""
        await self._store.set_setting(key, value)
