"""The `UsageEngine` facade: the one object the Home Assistant layer talks to."""

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from .aggregate import WeekAggregate, WeekSummary, summarize, week_bounds
from .job_tracker import JobState
from .models import FleetSnapshot, UsageEvent
from .payload import InstallationContext, build_payload
from .printernizer_server import PrinternizerServer
from .recorder import Recorder
from .store import AuditEntry, OutboxItem, Store
from .timeutil import WEEK, as_utc, utc_now, week_start

# Weeks older than this are not enqueued after a long absence (the rollups may be incomplete anyway).
MAX_BACKFILL_WEEKS = 52


class UsageEngine:
    """Records printer usage locally, aggregates it per ISO week and keeps the outbox of payloads.

    Every method except `record` and `update_fleet` is a coroutine; none blocks the event loop (SQLite
    runs in aiosqlite's thread). Open with `await UsageEngine.open(path)`, always `await close()`.
    """

    def __init__(self, store: Store, recorder: Recorder, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._recorder = recorder
        self._clock = clock

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
        store = await Store.open(
            db_path,
            clock=lambda: as_utc(clock()).timestamp(),
            raw_retention_days=raw_retention_days,
        )
        await store.start_session()
        recorder = Recorder(store, flush_interval=flush_interval, batch_size=batch_size)
        recorder.start()
        return cls(store, recorder, clock)

    async def close(self) -> None:
        """Flush the buffer, end the run-time session at now and close the database."""
        await self._recorder.close()
        await self._store.heartbeat()
        await self._store.close()

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

    def set_raw_retention_days(self, days: int) -> None:
        """Change how many days raw events are kept (applied at the next prune)."""
        self._store.raw_retention_days = days

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
        payload of the current week so far (the week that will be enqueued next)."""
        for item in await self._store.outbox_items():
            if item.status == "pending" and item.installation_id == context.installation_id:
                return item.payload
        return await self.build_payload(as_utc(self._clock()), context, server)

    async def enqueue_completed_weeks(
        self,
        context: InstallationContext,
        now: datetime | None = None,
        server: PrinternizerServer | None = None,
    ) -> int:
        """Put every completed ISO week since sharing began (`context.first_seen`; without it only the
        last completed week) or since the last enqueued week into the outbox, each exactly once.
        Returns how many were added."""
        moment = as_utc(now) if now is not None else as_utc(self._clock())
        current_week = week_start(moment)
        first = week_start(context.first_seen) if context.first_seen else current_week - WEEK
        last_enqueued = await self._store.last_enqueued_period(context.installation_id)
        if last_enqueued is not None:
            first = max(first, last_enqueued + WEEK)
        first = max(first, current_week - MAX_BACKFILL_WEEKS * WEEK)
        added = 0
        period = first
        while period + WEEK <= current_week:
            payload = await self.build_payload(period, context, server)
            if await self._store.enqueue(context.installation_id, period, payload):
                added += 1
            period += WEEK
        return added

    async def outbox(self) -> list[OutboxItem]:
        """All outbox items (pending and rejected), oldest period first."""
        return await self._store.outbox_items()

    async def pending_count(self) -> int:
        """How many payloads wait to be sent."""
        return sum(1 for item in await self._store.outbox_items() if item.status == "pending")

    async def discard_outbox(self, installation_id: str | None = None) -> int:
        """Drop outbox items (of one installation id, or all): used when sharing is switched off."""
        return await self._store.discard_outbox(installation_id)

    async def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        """The newest `limit` requests to the receiver, newest first."""
        return await self._store.audit_entries(limit)

    async def export_all(self) -> dict[str, Any]:
        """Everything stored locally, as JSON-ready data (settings, rollups, raw events, sessions,
        outbox, audit log)."""
        await self.flush()
        return await self._store.export_all()

    async def delete_local_data(self) -> None:
        """Delete all recorded data, the outbox and the audit log (settings are kept; a new run-time
        session starts now)."""
        await self.flush()
        await self._store.delete_all_data()

    async def get_setting(self, key: str) -> str | None:
        return await self._store.get_setting(key)

    async def set_setting(self, key: str, value: str | None) -> None:
        """Store a setting; `None` deletes it."""
        await self._store.set_setting(key, value)

    # --- used by the uploader -----------------------------------------------------------------

    async def due_outbox_item(self, installation_id: str, now: datetime) -> OutboxItem | None:
        """The oldest pending item of `installation_id` if it is due at `now` (later items wait
        behind it, so periods go out oldest first)."""
        return await self._store.oldest_pending(installation_id, now)

    async def next_attempt_at(self, installation_id: str) -> datetime | None:
        """When the oldest pending item of `installation_id` is due (None: nothing pending)."""
        item = await self._store.oldest_pending(installation_id, None)
        return item.next_attempt_at if item else None

    async def mark_sent(
        self, item: OutboxItem, status_code: int, response: str, now: datetime
    ) -> None:
        """The receiver stored `item`: remove it from the outbox and audit the exact payload."""
        await self._store.finish_item(item, "sent", status_code, response, now)

    async def mark_rejected(
        self, item: OutboxItem, status_code: int, response: str, now: datetime
    ) -> None:
        """The receiver refused `item` for good: keep it as `rejected` and audit it."""
        await self._store.finish_item(item, "rejected", status_code, response, now)

    async def hold_for_credentials(
        self, item: OutboxItem, at: datetime, status_code: int, response: str, now: datetime
    ) -> None:
        """The receiver refused the credentials (401/403): keep `item` pending, try again at `at`
        and audit the refusal."""
        await self._store.hold_item(item, at, status_code, response, now)

    async def make_pending_due(self, installation_id: str, now: datetime) -> int:
        """Drop any wait (backoff, credentials pause) of the pending items of `installation_id`:
        they are due at `now`. Returns how many waited."""
        return await self._store.make_pending_due(installation_id, as_utc(now))

    async def schedule_retry(self, item: OutboxItem, at: datetime, error: str) -> None:
        """Delivery of `item` failed transiently: try again at `at`."""
        await self._store.schedule_retry(item, at, error)

    async def audit(
        self,
        action: str,
        installation_id: str,
        status_code: int | None,
        response: str | None,
        now: datetime,
    ) -> None:
        """Add an audit entry for a request without an outbox item (deletion requests)."""
        await self._store.add_audit(
            action=action,
            installation_id=installation_id,
            period_start=None,
            payload=None,
            status_code=status_code,
            response=response,
            now=now,
        )
