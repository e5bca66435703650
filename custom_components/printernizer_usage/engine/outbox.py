"""The outbox of weekly payloads and the audit log of every request to the receiver.

Its own class over the shared `Database`: the uploader and the delivery scheduler depend on this narrow
interface, not on the whole engine. Each installation id has a cursor (the last period enqueued), so a
week is enqueued at most once per id, whatever the clock does.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .database import Database
from .timeutil import DAY_SECONDS, WEEK, from_timestamp, iso_z, week_start

AUDIT_RETENTION_SECONDS = 2 * 365 * DAY_SECONDS
REJECTED_RETENTION_SECONDS = 365 * DAY_SECONDS
RESPONSE_MAX_CHARS = 2000
# Erased with the local data (the cursor stays: weeks already sent are never sent again).
TABLES = ("outbox", "audit_log")


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One weekly payload waiting to be sent (`pending`) or given up on (`rejected`)."""

    id: int
    installation_id: str
    period_start: datetime
    payload: dict[str, Any]
    status: str  # "pending" | "rejected"
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One request to the receiver: a submission (with the exact payload) or a deletion request."""

    id: int
    at: datetime
    action: str  # "submit" | "delete"
    installation_id: str
    period_start: datetime | None
    payload: dict[str, Any] | None
    status_code: int | None  # None: no answer (network error, redirect not followed)
    response: str | None  # the receiver's answer (truncated) or the network error


_ITEM_COLUMNS = (
    "id, installation_id, period_start, payload, status, attempts, next_attempt_at, last_error, "
    "created_at"
)


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        id=row[0],
        installation_id=row[1],
        period_start=from_timestamp(row[2]),
        payload=json.loads(row[3]),
        status=row[4],
        attempts=row[5],
        next_attempt_at=from_timestamp(row[6]),
        last_error=row[7],
        created_at=from_timestamp(row[8]),
    )


class Outbox:
    """Payloads waiting for the receiver, per installation id, oldest period first."""

    def __init__(self, database: Database, clock: Callable[[], float]) -> None:
        self._database = database
        self._db = database.connection
        self._clock = clock

    # --- enqueueing ----------------------------------------------------------------------------

    async def last_enqueued_period(self, installation_id: str) -> datetime | None:
        """The start of the last period enqueued for `installation_id` (None: never)."""
        async with self._db.execute(
            "SELECT last_period FROM outbox_cursor WHERE installation_id = ?", (installation_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else from_timestamp(row[0])

    async def enqueue(
        self, installation_id: str, period_start: datetime, payload: dict[str, Any]
    ) -> bool:
        """Add the payload of one period once; False if that period (or a later one) was enqueued
        before."""
        now = self._clock()
        period = int(period_start.timestamp())
        async with self._database.transaction():
            last = await self.last_enqueued_period(installation_id)
            if last is not None and period <= last.timestamp():
                return False
            cursor = await self._db.execute(
                "INSERT OR IGNORE INTO outbox (installation_id, period_start, payload, status, "
                "next_attempt_at, created_at) VALUES (?, ?, ?, 'pending', ?, ?)",
                (installation_id, period, json.dumps(payload), now, now),
            )
            await self._set_cursor(installation_id, period)
            return cursor.rowcount == 1

    async def _set_cursor(self, installation_id: str, period: int) -> None:
        await self._db.execute(
            "INSERT INTO outbox_cursor (installation_id, last_period) VALUES (?, ?) "
            "ON CONFLICT (installation_id) DO UPDATE SET last_period = excluded.last_period",
            (installation_id, period),
        )

    async def forget_cursor(self, installation_id: str) -> None:
        """The id is gone for good (its deletion was confirmed): drop its cursor."""
        await self._db.execute(
            "DELETE FROM outbox_cursor WHERE installation_id = ?", (installation_id,)
        )

    async def rewind_unfinished_weeks(self, now: datetime) -> int:
        """The clock went back: weeks enqueued while it was ahead have not ended yet at `now`. Drop
        their items (pending or rejected) and move every cursor back before them, so each such week
        is enqueued again once it has really ended (the receiver replaces an early copy it stored).
        Returns how many items were dropped. Nothing happens while the clock is sane."""
        current = int(week_start(now).timestamp())
        async with self._database.transaction():
            cursor = await self._db.execute(
                "DELETE FROM outbox WHERE period_start >= ?", (current,)
            )
            dropped = cursor.rowcount
            await self._db.execute(
                "UPDATE outbox_cursor SET last_period = ? WHERE last_period >= ?",
                (current - int(WEEK.total_seconds()), current),
            )
        return dropped

    # --- reading -------------------------------------------------------------------------------

    async def items(self, installation_id: str | None = None) -> list[OutboxItem]:
        """All items (pending and rejected), of one id or all, oldest period first."""
        if installation_id is None:
            return await self._query("ORDER BY period_start, id", ())
        return await self._query(
            "WHERE installation_id = ? ORDER BY period_start, id", (installation_id,)
        )

    async def pending_count(self, installation_id: str | None = None) -> int:
        """How many payloads wait to be sent (of one id, or all)."""
        sql = "SELECT count(*) FROM outbox WHERE status = 'pending'"
        parameters: tuple[str, ...] = ()
        if installation_id is not None:
            sql += " AND installation_id = ?"
            parameters = (installation_id,)
        async with self._db.execute(sql, parameters) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def oldest_pending(self, installation_id: str) -> OutboxItem | None:
        """The oldest pending item of one installation id (later items wait behind it)."""
        items = await self._query(
            "WHERE status = 'pending' AND installation_id = ? ORDER BY period_start, id LIMIT 1",
            (installation_id,),
        )
        return items[0] if items else None

    async def due_item(self, installation_id: str, now: datetime) -> OutboxItem | None:
        """The oldest pending item of `installation_id` if it is due at `now`."""
        item = await self.oldest_pending(installation_id)
        return item if item is not None and item.next_attempt_at <= now else None

    async def next_attempt_at(self, installation_id: str | None = None) -> datetime | None:
        """When the next pending item (of one id, or of any) is due (None: nothing pending). Only
        the oldest item of each id counts: the others wait behind it."""
        sql = (
            "SELECT min(next_attempt_at) FROM outbox o WHERE status = 'pending' AND id = ("
            "SELECT id FROM outbox WHERE status = 'pending' AND installation_id = o.installation_id "
            "ORDER BY period_start, id LIMIT 1)"
        )
        parameters: tuple[str, ...] = ()
        if installation_id is not None:
            sql += " AND installation_id = ?"
            parameters = (installation_id,)
        async with self._db.execute(sql, parameters) as cursor:
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else from_timestamp(row[0])

    async def _query(self, tail: str, parameters: tuple[Any, ...]) -> list[OutboxItem]:
        async with self._db.execute(
            f"SELECT {_ITEM_COLUMNS} FROM outbox {tail}",  # noqa: S608
            parameters,
        ) as cursor:
            return [_item(row) async for row in cursor]

    # --- outcomes of delivery ------------------------------------------------------------------

    async def mark_sent(
        self, item: OutboxItem, status_code: int, response: str, now: datetime
    ) -> None:
        """The receiver stored `item`: remove it and audit the exact payload."""
        async with self._database.transaction():
            await self._db.execute("DELETE FROM outbox WHERE id = ?", (item.id,))
            await self._audit_submission(item, status_code, response, now)

    async def mark_rejected(
        self, item: OutboxItem, status_code: int, response: str, now: datetime
    ) -> None:
        """The receiver refused `item` for good: keep it as `rejected` and audit it."""
        async with self._database.transaction():
            await self._db.execute(
                "UPDATE outbox SET status = 'rejected', attempts = attempts + 1, last_error = ? "
                "WHERE id = ?",
                (f"{status_code}: {response}"[:RESPONSE_MAX_CHARS], item.id),
            )
            await self._audit_submission(item, status_code, response, now)

    async def hold(
        self, item: OutboxItem, until: datetime, status_code: int, response: str, now: datetime
    ) -> None:
        """The receiver refused the credentials (401/403): keep `item` pending until `until` and
        audit the refusal."""
        async with self._database.transaction():
            await self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
                "WHERE id = ?",
                (until.timestamp(), f"{status_code}: {response}"[:RESPONSE_MAX_CHARS], item.id),
            )
            await self._audit_submission(item, status_code, response, now)

    async def retry_later(
        self, item: OutboxItem, at: datetime, error: str, status_code: int | None, now: datetime
    ) -> None:
        """Delivery of `item` failed transiently (no answer, 3xx, 408, 429, 5xx): try again at `at`;
        the attempt is audited (the receiver may have stored it before the answer was lost)."""
        async with self._database.transaction():
            await self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
                "WHERE id = ?",
                (at.timestamp(), error[:RESPONSE_MAX_CHARS], item.id),
            )
            await self._audit_submission(item, status_code, error, now)

    async def make_due(self, installation_id: str, now: datetime) -> int:
        """Drop any wait (backoff, credentials pause) of the pending items of `installation_id`:
        they are due at `now`. Returns how many waited."""
        cursor = await self._db.execute(
            "UPDATE outbox SET next_attempt_at = ? "
            "WHERE installation_id = ? AND status = 'pending' AND next_attempt_at > ?",
            (now.timestamp(), installation_id, now.timestamp()),
        )
        return cursor.rowcount

    async def clamp_waits(self, latest: datetime) -> int:
        """No pending item waits beyond `latest` (after the clock went back, a wait computed while it
        was ahead would otherwise last that much longer). Returns how many were shortened."""
        cursor = await self._db.execute(
            "UPDATE outbox SET next_attempt_at = ? WHERE status = 'pending' AND next_attempt_at > ?",
            (latest.timestamp(), latest.timestamp()),
        )
        return cursor.rowcount

    async def discard(self, installation_id: str | None = None) -> int:
        """Drop outbox items (of one installation id, or all): nothing of them will be sent."""
        if installation_id is None:
            cursor = await self._db.execute("DELETE FROM outbox")
        else:
            cursor = await self._db.execute(
                "DELETE FROM outbox WHERE installation_id = ?", (installation_id,)
            )
        return cursor.rowcount

    # --- the audit log -------------------------------------------------------------------------

    async def audit(
        self,
        action: str,
        installation_id: str,
        status_code: int | None,
        response: str | None,
        now: datetime,
    ) -> None:
        """Add an audit entry for a request without an outbox item (deletion requests)."""
        await self._add_audit(
            action=action,
            installation_id=installation_id,
            period_start=None,
            payload=None,
            status_code=status_code,
            response=response,
            now=now,
        )

    async def _audit_submission(
        self, item: OutboxItem, status_code: int | None, response: str, now: datetime
    ) -> None:
        await self._add_audit(
            action="submit",
            installation_id=item.installation_id,
            period_start=item.period_start,
            payload=item.payload,
            status_code=status_code,
            response=response,
            now=now,
        )

    async def _add_audit(
        self,
        *,
        action: str,
        installation_id: str,
        period_start: datetime | None,
        payload: dict[str, Any] | None,
        status_code: int | None,
        response: str | None,
        now: datetime,
    ) -> None:
        await self._db.execute(
            "INSERT INTO audit_log (at, action, installation_id, period_start, payload, "
            "status_code, response) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                now.timestamp(),
                action,
                installation_id,
                None if period_start is None else int(period_start.timestamp()),
                None if payload is None else json.dumps(payload),
                status_code,
                None if response is None else response[:RESPONSE_MAX_CHARS],
            ),
        )

    async def audit_entries(self, limit: int = 100) -> list[AuditEntry]:
        """The newest `limit` requests to the receiver, newest first."""
        async with self._db.execute(
            "SELECT id, at, action, installation_id, period_start, payload, status_code, response "
            "FROM audit_log ORDER BY at DESC, id DESC LIMIT ?",
            (limit,),
        ) as cursor:
            return [
                AuditEntry(
                    id=row[0],
                    at=from_timestamp(row[1]),
                    action=row[2],
                    installation_id=row[3],
                    period_start=None if row[4] is None else from_timestamp(row[4]),
                    payload=None if row[5] is None else json.loads(row[5]),
                    status_code=row[6],
                    response=row[7],
                )
                async for row in cursor
            ]

    async def last_delivery(self) -> datetime | None:
        """When the receiver last stored a payload (None: never, or the log was deleted)."""
        async with self._db.execute(
            "SELECT max(at) FROM audit_log WHERE action = 'submit' "
            "AND status_code >= 200 AND status_code < 300"
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else from_timestamp(row[0])

    async def prune(self, now: datetime) -> None:
        """Forget audit entries older than two years and rejected items older than one."""
        moment = now.timestamp()
        await self._db.execute(
            "DELETE FROM audit_log WHERE at < ?", (moment - AUDIT_RETENTION_SECONDS,)
        )
        await self._db.execute(
            "DELETE FROM outbox WHERE status = 'rejected' AND created_at < ?",
            (moment - REJECTED_RETENTION_SECONDS,),
        )

    # --- export --------------------------------------------------------------------------------

    async def export(self) -> dict[str, Any]:
        """The outbox and the audit log as JSON-ready rows."""
        return {
            "outbox": [
                {
                    "installation_id": item.installation_id,
                    "period_start": iso_z(item.period_start),
                    "status": item.status,
                    "attempts": item.attempts,
                    "next_attempt_at": iso_z(item.next_attempt_at),
                    "last_error": item.last_error,
                    "payload": item.payload,
                }
                for item in await self.items()
            ],
            "audit_log": [
                {
                    "at": iso_z(entry.at),
                    "action": entry.action,
                    "installation_id": entry.installation_id,
                    "period_start": None
                    if entry.period_start is None
                    else iso_z(entry.period_start),
                    "status_code": entry.status_code,
                    "response": entry.response,
                    "payload": entry.payload,
                }
                for entry in await self.audit_entries(1_000_000)
            ],
        }
