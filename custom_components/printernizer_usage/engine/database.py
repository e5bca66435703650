"""The local database file: one aiosqlite connection (WAL), the versioned schema (PRAGMA user_version)
and the write transaction that the stores sharing the connection (`Store`, `Outbox`, `Identities`) use."""

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer version of the engine."""


# Each entry migrates from version i to i + 1; the schema version is PRAGMA user_version.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE printers (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        family TEXT NOT NULL,
        model TEXT NOT NULL
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        printer INTEGER NOT NULL,
        kind INTEGER NOT NULL,
        code TEXT,
        severity TEXT
    );
    CREATE TABLE daily_rollups (
        day INTEGER NOT NULL,
        family TEXT NOT NULL,
        model TEXT NOT NULL,
        jobs_started INTEGER NOT NULL DEFAULT 0,
        jobs_completed INTEGER NOT NULL DEFAULT 0,
        jobs_failed INTEGER NOT NULL DEFAULT 0,
        jobs_cancelled INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        print_seconds REAL NOT NULL DEFAULT 0,
        online_seconds REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (day, family, model)
    ) WITHOUT ROWID;
    CREATE TABLE daily_errors (
        day INTEGER NOT NULL,
        family TEXT NOT NULL,
        code TEXT NOT NULL,
        severity TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (day, family, code, severity)
    ) WITHOUT ROWID;
    CREATE TABLE printer_state (
        printer INTEGER PRIMARY KEY,
        online_since REAL,
        printing_since REAL
    );
    CREATE TABLE weekly_fleet (
        week_start INTEGER PRIMARY KEY,
        fleet TEXT NOT NULL
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE runtime_sessions (
        id INTEGER PRIMARY KEY,
        started_at REAL NOT NULL,
        last_seen_at REAL NOT NULL
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        installation_id TEXT NOT NULL,
        period_start INTEGER NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        last_error TEXT,
        created_at REAL NOT NULL,
        UNIQUE (installation_id, period_start)
    );
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        action TEXT NOT NULL,
        installation_id TEXT NOT NULL,
        period_start INTEGER,
        payload TEXT,
        status_code INTEGER,
        response TEXT
    );
    """,
    # 2: per-printer rollups (per-model breakdown, active printers, per-printer sensors), paused time,
    # jobs ended without outcome, filament, persisted open jobs. Old rollups go to the lowest printer
    # id of their (family, model), old errors to the lowest printer id of their family.
    """
    CREATE TABLE printer_rollups (
        day INTEGER NOT NULL,
        printer INTEGER NOT NULL,
        jobs_started INTEGER NOT NULL DEFAULT 0,
        jobs_completed INTEGER NOT NULL DEFAULT 0,
        jobs_failed INTEGER NOT NULL DEFAULT 0,
        jobs_cancelled INTEGER NOT NULL DEFAULT 0,
        jobs_ended INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        print_seconds REAL NOT NULL DEFAULT 0,
        paused_seconds REAL NOT NULL DEFAULT 0,
        online_seconds REAL NOT NULL DEFAULT 0,
        filament_m REAL,
        PRIMARY KEY (day, printer)
    ) WITHOUT ROWID;
    INSERT INTO printer_rollups (day, printer, jobs_started, jobs_completed, jobs_failed,
        jobs_cancelled, errors, print_seconds, online_seconds)
    SELECT r.day, p.id, r.jobs_started, r.jobs_completed, r.jobs_failed, r.jobs_cancelled, r.errors,
        r.print_seconds, r.online_seconds
    FROM daily_rollups r
    JOIN (SELECT min(id) AS id, family, model FROM printers GROUP BY family, model) p
        ON p.family = r.family AND p.model = r.model;
    DROP TABLE daily_rollups;
    CREATE TABLE printer_errors (
        day INTEGER NOT NULL,
        printer INTEGER NOT NULL,
        code TEXT NOT NULL,
        severity TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (day, printer, code, severity)
    ) WITHOUT ROWID;
    INSERT INTO printer_errors (day, printer, code, severity, count)
    SELECT e.day, p.id, e.code, e.severity, e.count
    FROM daily_errors e
    JOIN (SELECT min(id) AS id, family FROM printers GROUP BY family) p ON p.family = e.family;
    DROP TABLE daily_errors;
    ALTER TABLE printer_state ADD COLUMN paused_since REAL;
    ALTER TABLE printer_state ADD COLUMN job_open INTEGER NOT NULL DEFAULT 0;
    UPDATE printer_state SET job_open = printing_since IS NOT NULL;
    ALTER TABLE events ADD COLUMN amount REAL;
    CREATE TABLE open_jobs (
        printer INTEGER PRIMARY KEY,
        state TEXT NOT NULL
    );
    """,
    # 3: the sharing identities in a typed table (they were JSON values in `settings`), the outbox's
    # cursor per installation id (was `settings` keys). The HA layer moves its old settings over.
    """
    CREATE TABLE identities (
        installation_id TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        receiver_url TEXT NOT NULL,
        submit_key TEXT NOT NULL,
        first_week INTEGER NOT NULL,
        is_current INTEGER NOT NULL DEFAULT 0,
        refused_status INTEGER,
        deletion_requested INTEGER NOT NULL DEFAULT 0,
        deletion_attempts INTEGER NOT NULL DEFAULT 0,
        next_deletion_at REAL
    );
    CREATE UNIQUE INDEX identities_one_current ON identities (is_current) WHERE is_current = 1;
    CREATE TABLE outbox_cursor (
        installation_id TEXT PRIMARY KEY,
        last_period INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO outbox_cursor (installation_id, last_period)
    SELECT substr(key, length('engine.last_enqueued_period.') + 1), CAST(value AS INTEGER)
    FROM settings
    WHERE substr(key, 1, length('engine.last_enqueued_period.')) = 'engine.last_enqueued_period.';
    DELETE FROM settings
    WHERE substr(key, 1, length('engine.last_enqueued_period.')) = 'engine.last_enqueued_period.';
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class Database:
    """The one connection and its write lock: every multi-statement write goes through `transaction`,
    so the stores sharing the connection never interleave their transactions."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Open (creating or migrating) the database file at `path`."""
        connection = await aiosqlite.connect(path, isolation_level=None)
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA synchronous=NORMAL")
            await connection.execute("PRAGMA journal_size_limit=1048576")
            await connection.execute("PRAGMA foreign_keys=ON")
            await _migrate(connection)
        except BaseException:
            await connection.close()
            raise
        return cls(connection)

    async def close(self) -> None:
        await self.connection.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any error), one writer at a time.

        Also when the task is cancelled while BEGIN is on its way to SQLite's thread: the ROLLBACK
        is queued after it, so no transaction is ever left open on the shared connection."""
        async with self._write_lock:
            try:
                await self.connection.execute("BEGIN IMMEDIATE")
                yield self.connection
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    await self.connection.execute("ROLLBACK")
                raise
            await self.connection.execute("COMMIT")


async def _migrate(db: aiosqlite.Connection) -> None:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(f"database schema {version} is newer than {SCHEMA_VERSION}")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        await db.executescript(
            f"BEGIN IMMEDIATE; {MIGRATIONS[target - 1]} PRAGMA user_version = {target}; COMMIT;"
        )
