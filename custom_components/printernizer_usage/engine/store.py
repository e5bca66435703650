"""Usage data in the local database: printers, raw events, daily per-printer rollups, open jobs, the
fleet per week, run-time sessions (uptime) and settings. The outbox and audit log are `outbox.Outbox`,
the sharing identities `identities.Identities`; all three share one `database.Database`."""

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Self

from .aggregate import JobFigures, PrinterFigures, WeekAggregate, build_aggregate
from .database import SCHEMA_VERSION, Database
from .job_tracker import JobState
from .models import EventKind, FleetSnapshot, UsageEvent
from .rollup import ROLLUP_COLUMNS, Accounting, PrinterAccount, RollupDelta
from .timeutil import DAY_SECONDS, epoch_day, from_timestamp, iso_z, week_start

KIND_CODES: dict[EventKind, int] = {
    EventKind.JOB_STARTED: 1,
    EventKind.JOB_COMPLETED: 2,
    EventKind.JOB_FAILED: 3,
    EventKind.JOB_CANCELLED: 4,
    EventKind.PRINTER_CONNECTED: 5,
    EventKind.PRINTER_DISCONNECTED: 6,
    EventKind.PRINTER_ERROR: 7,
    EventKind.JOB_IN_PROGRESS: 8,
    EventKind.JOB_ENDED: 9,
    EventKind.JOB_PAUSED: 10,
    EventKind.JOB_RESUMED: 11,
    EventKind.FILAMENT_USED: 12,
}
KINDS_BY_CODE = {code: kind for kind, code in KIND_CODES.items()}

PRUNE_EVERY_SECONDS = 3600.0
# What `delete_all_data` erases (settings, identities and the outbox cursor stay).
USAGE_TABLES = (
    "events",
    "printer_state",
    "open_jobs",
    "printer_rollups",
    "printer_errors",
    "printers",
    "weekly_fleet",
    "runtime_sessions",
)


def _dt(timestamp: float) -> datetime:
    return from_timestamp(timestamp)


_UPSERT_ROLLUP = (
    f"INSERT INTO printer_rollups (day, printer, {', '.join(ROLLUP_COLUMNS)}, filament_m) "  # noqa: S608
    f"VALUES (?, ?, {', '.join('?' for _ in ROLLUP_COLUMNS)}, ?) "
    "ON CONFLICT (day, printer) DO UPDATE SET "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in ROLLUP_COLUMNS)
    + ", filament_m = CASE WHEN excluded.filament_m IS NULL THEN filament_m "
    "ELSE coalesce(filament_m, 0) + excluded.filament_m END"
)


def _rollup_rows(delta: RollupDelta) -> list[tuple[Any, ...]]:
    keys = delta.rollups.keys() | delta.filament.keys()
    zero = [0.0] * len(ROLLUP_COLUMNS)
    return [(*key, *delta.rollups.get(key, zero), delta.filament.get(key)) for key in sorted(keys)]


def fleet_counts(fleet: FleetSnapshot) -> dict[str, dict[str, int]]:
    """Printers by family and model (counts only: no keys)."""
    counts: dict[str, dict[str, int]] = {}
    for info in fleet.printers.values():
        models = counts.setdefault(info.family, {})
        models[info.model] = models.get(info.model, 0) + 1
    return {family: dict(sorted(models.items())) for family, models in sorted(counts.items())}


class Store:
    """The SQL of the usage data. aiosqlite runs it in its own thread."""

    def __init__(
        self, database: Database, clock: Callable[[], float], raw_retention_days: int
    ) -> None:
        self._database = database
        self._db = database.connection
        self._clock = clock
        self.raw_retention_days = raw_retention_days
        self._accounting = Accounting()
        self._printer_ids: dict[str, int] = {}
        self._session_id: int | None = None
        self._last_prune = float("-inf")
        self._fleet: dict[str, dict[str, int]] | None = None
        self._fleet_week: int | None = None
        self._open_jobs: dict[str, JobState] = {}  # by printer key, as last persisted

    @classmethod
    async def open(
        cls, database: Database, *, clock: Callable[[], float], raw_retention_days: int = 90
    ) -> Self:
        """The store over an open database, with the printers' state loaded."""
        store = cls(database, clock, raw_retention_days)
        await store._load_state()
        return store

    async def _load_state(self) -> None:
        async with self._db.execute(
            "SELECT p.id, p.key, p.family, p.model, s.online_since, s.printing_since, "
            "s.paused_since, coalesce(s.job_open, 0), j.state "
            "FROM printers p LEFT JOIN printer_state s ON s.printer = p.id "
            "LEFT JOIN open_jobs j ON j.printer = p.id"
        ) as cursor:
            async for row in cursor:
                self._printer_ids[row[1]] = row[0]
                self._accounting.accounts[row[0]] = PrinterAccount(
                    row[2], row[3], row[4], row[5], row[6], bool(row[7])
                )
                if row[8] is not None:
                    self._open_jobs[row[1]] = JobState.from_dict(json.loads(row[8]))
        async with self._db.execute(
            "SELECT week_start, fleet FROM weekly_fleet ORDER BY week_start DESC LIMIT 1"
        ) as cursor:
            latest = await cursor.fetchone()
        if latest is not None:
            self._fleet_week, self._fleet = latest[0], json.loads(latest[1])

    def open_job(self, printer_key: str) -> JobState | None:
        """What the printer's tracker knew when it was last written: its open job and its active error
        codes (None: nothing to go on with)."""
        job = self._open_jobs.get(printer_key)
        return None if job is None else JobState.from_dict(job.as_dict())

    # --- run-time sessions (uptime) ------------------------------------------------------------

    async def start_session(self) -> None:
        """A new run: uptime counts from now; open intervals of the last run are closed at what was
        credited (the last write), never assumed to have continued, and nothing is credited twice."""
        now = self._clock()
        self._accounting.forget_open_intervals()
        async with self._database.transaction():
            # Open jobs stay open (`job_open`); their trackers resume them.
            await self._db.execute(
                "UPDATE printer_state SET online_since = NULL, printing_since = NULL, "
                "paused_since = NULL"
            )
            cursor = await self._db.execute(
                "INSERT INTO runtime_sessions (started_at, last_seen_at) VALUES (?, ?)", (now, now)
            )
            self._session_id = cursor.lastrowid

    async def heartbeat(self) -> None:
        await self._db.execute(
            "UPDATE runtime_sessions SET last_seen_at = max(last_seen_at, ?) WHERE id = ?",
            (self._clock(), self._session_id),
        )

    # --- writing events ------------------------------------------------------------------------

    async def write_batch(
        self,
        events: Sequence[UsageEvent],
        fleet: tuple[FleetSnapshot, float] | None = None,
        jobs: dict[str, JobState] | None = None,
    ) -> None:
        """Store raw events, update the rollups, credit open intervals up to now, remember the fleet
        and the open jobs (by printer key); all in one transaction."""
        now = self._clock()
        async with self._database.transaction():
            new_printers = [e for e in events if e.printer_key not in self._printer_ids]
            for event in new_printers:
                await self._add_printer(event.printer_key, event.family, event.model)
            delta = RollupDelta()
            rows = []
            for event in events:
                printer = self._printer_ids[event.printer_key]
                account = self._accounting.accounts[printer]
                if (account.family, account.model) != (event.family, event.model):
                    await self._reclassify(printer, event.family, event.model)
                rows.append(
                    (
                        round(event.timestamp),
                        printer,
                        KIND_CODES[event.kind],
                        event.error_code,
                        event.severity,
                        event.amount,
                    )
                )
                self._accounting.apply(
                    printer,
                    kind=event.kind,
                    timestamp=min(event.timestamp, now),
                    code=event.error_code,
                    severity=event.severity,
                    amount=event.amount,
                    delta=delta,
                )
            await self._db.executemany(
                "INSERT INTO events (ts, printer, kind, code, severity, amount) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._accounting.checkpoint(now, delta)
            await self._apply_delta(delta)
            await self._save_printer_state()
            if jobs:
                await self._save_open_jobs(jobs)
            await self._save_fleet(fleet, now)
            if now - self._last_prune >= PRUNE_EVERY_SECONDS:
                await self._prune(now)
                self._last_prune = now

    async def _add_printer(self, key: str, family: str, model: str) -> None:
        if key in self._printer_ids:
            return
        cursor = await self._db.execute(
            "INSERT INTO printers (key, family, model) VALUES (?, ?, ?)", (key, family, model)
        )
        assert cursor.lastrowid is not None
        self._printer_ids[key] = cursor.lastrowid
        self._accounting.accounts[cursor.lastrowid] = PrinterAccount(family, model)

    async def _reclassify(self, printer: int, family: str, model: str) -> None:
        account = self._accounting.accounts[printer]
        account.family, account.model = family, model
        await self._db.execute(
            "UPDATE printers SET family = ?, model = ? WHERE id = ?", (family, model, printer)
        )

    async def _apply_delta(self, delta: RollupDelta) -> None:
        await self._db.executemany(_UPSERT_ROLLUP, _rollup_rows(delta))
        await self._db.executemany(
            "INSERT INTO printer_errors (day, printer, code, severity, count) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (day, printer, code, severity) "
            "DO UPDATE SET count = count + excluded.count",
            [(*key, count) for key, count in delta.errors.items()],
        )

    async def _save_printer_state(self) -> None:
        await self._db.executemany(
            "INSERT INTO printer_state (printer, online_since, printing_since, paused_since, "
            "job_open) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (printer) DO UPDATE SET online_since = excluded.online_since, "
            "printing_since = excluded.printing_since, paused_since = excluded.paused_since, "
            "job_open = excluded.job_open",
            [
                (
                    printer,
                    account.online_since,
                    account.printing_since,
                    account.paused_since,
                    int(account.job_open),
                )
                for printer, account in self._accounting.accounts.items()
            ],
        )

    async def _save_open_jobs(self, jobs: dict[str, JobState]) -> None:
        for key, job in jobs.items():
            printer = self._printer_ids.get(key)
            if printer is None:
                continue
            if job.open or job.active_errors:
                self._open_jobs[key] = job
                await self._db.execute(
                    "INSERT INTO open_jobs (printer, state) VALUES (?, ?) "
                    "ON CONFLICT (printer) DO UPDATE SET state = excluded.state",
                    (printer, json.dumps(job.as_dict(), separators=(",", ":"))),
                )
            elif self._open_jobs.pop(key, None) is not None:
                await self._db.execute("DELETE FROM open_jobs WHERE printer = ?", (printer,))

    async def _save_fleet(self, fleet: tuple[FleetSnapshot, float] | None, now: float) -> None:
        """The fleet is stored per ISO week (latest wins), so a past week keeps its end-of-week fleet;
        a week without changes carries the last one forward."""
        if fleet is not None:
            snapshot, at = fleet
            self._fleet = fleet_counts(snapshot)
            await self._store_fleet(int(week_start(_dt(at)).timestamp()))
        week = int(week_start(_dt(now)).timestamp())
        if self._fleet is not None and self._fleet_week != week:
            await self._store_fleet(week)

    async def _store_fleet(self, week: int) -> None:
        self._fleet_week = week
        await self._db.execute(
            "INSERT INTO weekly_fleet (week_start, fleet) VALUES (?, ?) "
            "ON CONFLICT (week_start) DO UPDATE SET fleet = excluded.fleet",
            (week, json.dumps(self._fleet, separators=(",", ":"))),
        )

    async def _prune(self, now: float) -> None:
        """Bounded size without VACUUM: deleted pages are reused by later inserts."""
        cutoff = now - self.raw_retention_days * DAY_SECONDS
        # Events arrive in time order, so the first id at/after the cutoff bounds the deletion.
        await self._db.execute(
            "DELETE FROM events WHERE id < coalesce("
            "(SELECT id FROM events WHERE ts >= ? ORDER BY id LIMIT 1), "
            "(SELECT max(id) + 1 FROM events))",
            (cutoff,),
        )

    # --- reading aggregates --------------------------------------------------------------------

    async def aggregate(self, start: datetime, end: datetime, now: datetime) -> WeekAggregate:
        """Sum the per-printer rollups of [start, end); uptime from sessions up to `now`."""
        first_day, end_day = epoch_day(start.timestamp()), epoch_day(end.timestamp())
        printers: dict[str, PrinterFigures] = {}
        async with self._db.execute(
            "SELECT p.key, p.family, p.model, total(r.jobs_started), total(r.jobs_completed), "
            "total(r.jobs_failed), total(r.jobs_cancelled), total(r.jobs_ended), "
            "total(r.print_seconds), total(r.paused_seconds), total(r.online_seconds), "
            "sum(r.filament_m), total(r.errors) "
            "FROM printer_rollups r JOIN printers p ON p.id = r.printer "
            "WHERE r.day >= ? AND r.day < ? GROUP BY r.printer",
            (first_day, end_day),
        ) as cursor:
            async for row in cursor:
                printers[row[0]] = PrinterFigures(
                    row[1],
                    row[2],
                    JobFigures(
                        jobs_started=int(row[3]),
                        jobs_completed=int(row[4]),
                        jobs_failed=int(row[5]),
                        jobs_cancelled=int(row[6]),
                        jobs_ended_without_outcome=int(row[7]),
                        print_seconds=row[8],
                        paused_seconds=row[9],
                        online_seconds=row[10],
                        filament_m=row[11],
                        errors=int(row[12]),
                    ),
                )
        async with self._db.execute(
            "SELECT p.family, p.model, e.code, e.severity, sum(e.count) "
            "FROM printer_errors e JOIN printers p ON p.id = e.printer "
            "WHERE e.day >= ? AND e.day < ? GROUP BY p.family, p.model, e.code, e.severity",
            (first_day, end_day),
        ) as cursor:
            errors = [
                (str(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4]))
                async for row in cursor
            ]
        return build_aggregate(
            start,
            end,
            fleet=await self._fleet_for_week(start),
            printers=printers,
            errors=errors,
            uptime_seconds=await self._uptime_seconds(start.timestamp(), end.timestamp(), now),
        )

    async def _fleet_for_week(self, start: datetime) -> dict[str, dict[str, int]]:
        async with self._db.execute(
            "SELECT fleet FROM weekly_fleet WHERE week_start <= ? ORDER BY week_start DESC LIMIT 1",
            (int(start.timestamp()),),
        ) as cursor:
            row = await cursor.fetchone()
        return {} if row is None else dict(json.loads(row[0]))

    async def _uptime_seconds(self, start: float, end: float, now: datetime) -> float:
        """Overlap of [start, end) with the recorded Home Assistant runs; the current run lasts
        until `now`."""
        total = 0.0
        async with self._db.execute(
            "SELECT id, started_at, last_seen_at FROM runtime_sessions "
            "WHERE started_at < ? AND last_seen_at >= ? OR id = ?",
            (end, start, self._session_id),
        ) as cursor:
            async for session_id, started, last_seen in cursor:
                until = (
                    max(last_seen, now.timestamp()) if session_id == self._session_id else last_seen
                )
                total += max(0.0, min(until, end) - max(started, start))
        return total

    # --- settings ------------------------------------------------------------------------------

    async def get_setting(self, key: str) -> str | None:
        async with self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else str(row[0])

    async def set_setting(self, key: str, value: str | None) -> None:
        if value is None:
            await self._db.execute("DELETE FROM settings WHERE key = ?", (key,))
        else:
            await self._db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # --- export and deletion -------------------------------------------------------------------

    async def export_all(self) -> dict[str, Any]:
        """Every table as JSON-ready rows (timestamps as ISO strings, event kinds by name)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "settings": dict(await self._rows("SELECT key, value FROM settings ORDER BY key")),
            "printers": [
                {"key": key, "family": family, "model": model}
                for key, family, model in await self._rows(
                    "SELECT key, family, model FROM printers ORDER BY id"
                )
            ],
            "events": [
                {
                    "time": iso_z(_dt(ts)),
                    "printer": key,
                    "kind": KINDS_BY_CODE[kind].value,
                    "error_code": code,
                    "severity": severity,
                    "amount": amount,
                }
                for ts, key, kind, code, severity, amount in await self._rows(
                    "SELECT e.ts, p.key, e.kind, e.code, e.severity, e.amount FROM events e "
                    "JOIN printers p ON p.id = e.printer ORDER BY e.id"
                )
            ],
            "printer_rollups": [
                {
                    "day": iso_z(_dt(row[0] * DAY_SECONDS))[:10],
                    "printer": row[1],
                    **dict(zip((*ROLLUP_COLUMNS, "filament_m"), row[2:], strict=True)),
                }
                for row in await self._rows(
                    f"SELECT r.day, p.key, {', '.join('r.' + c for c in ROLLUP_COLUMNS)}, "  # noqa: S608
                    "r.filament_m FROM printer_rollups r JOIN printers p ON p.id = r.printer "
                    "ORDER BY r.day, p.id"
                )
            ],
            "printer_errors": [
                {
                    "day": iso_z(_dt(day * DAY_SECONDS))[:10],
                    "printer": key,
                    "code": code,
                    "severity": severity,
                    "count": count,
                }
                for day, key, code, severity, count in await self._rows(
                    "SELECT e.day, p.key, e.code, e.severity, e.count FROM printer_errors e "
                    "JOIN printers p ON p.id = e.printer ORDER BY e.day, p.id, e.code, e.severity"
                )
            ],
            "weekly_fleet": [
                {"week_start": iso_z(_dt(week)), "fleet": json.loads(fleet)}
                for week, fleet in await self._rows(
                    "SELECT week_start, fleet FROM weekly_fleet ORDER BY week_start"
                )
            ],
            "runtime_sessions": [
                {"started_at": iso_z(_dt(started)), "last_seen_at": iso_z(_dt(last_seen))}
                for started, last_seen in await self._rows(
                    "SELECT started_at, last_seen_at FROM runtime_sessions ORDER BY id"
                )
            ],
        }

    async def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        async with self._db.execute(sql) as cursor:
            return [tuple(row) async for row in cursor]

    async def delete_all_data(self, also: Sequence[str] = ()) -> None:
        """Erase the usage data (and the tables in `also`, in the same transaction) but not the
        settings, then start a fresh run-time session; VACUUM so the deleted data is really gone from
        the file."""
        async with self._database.transaction():
            for table in (*USAGE_TABLES, *also):
                await self._db.execute(f"DELETE FROM {table}")  # noqa: S608
        self._printer_ids.clear()
        self._open_jobs.clear()
        self._accounting = Accounting()
        self._fleet = self._fleet_week = None
        await self._db.execute("VACUUM")
        await self.start_session()
