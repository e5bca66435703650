"""The sharing identities: every installation id that sends, or may have sent, data to a receiver.

A typed table over the shared `Database`. At most one identity is *current* (the one new weeks are sent
under). Others are kept, with their secret and the receiver and key their data went to, until the
receiver confirms their deletion: ids retired by the yearly rotation, and ids whose deletion was asked
for (opt-out, another receiver, the delete action, removal).
"""

from dataclasses import dataclass
from datetime import datetime

from .database import Database
from .receiver_url import receiver_host
from .timeutil import from_timestamp, iso_z, week_start


@dataclass(frozen=True, slots=True)
class Identity:
    """One installation id with what proves its ownership and where its data went."""

    installation_id: str
    secret: str
    receiver_url: str
    submit_key: str
    first_week: datetime  # Monday 00:00 UTC of the first week it shares (week precision only)
    current: bool = False
    refused_status: int | None = None  # 401/403: the receiver refused these credentials
    deletion_requested: bool = False
    deletion_attempts: int = 0
    next_deletion_at: datetime | None = None  # None: due at once

    def deletion_due(self, now: datetime) -> bool:
        """Whether to ask the receiver (again) to delete this id's data at `now`."""
        return self.deletion_requested and (
            self.next_deletion_at is None or self.next_deletion_at <= now
        )


_COLUMNS = (
    "installation_id, secret, receiver_url, submit_key, first_week, is_current, refused_status, "
    "deletion_requested, deletion_attempts, next_deletion_at"
)


class Identities:
    """Reads and changes the identities; every change is one statement or one transaction."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._db = database.connection

    async def all(self) -> list[Identity]:
        """Every identity, the current one first, then in the order they were added."""
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM identities ORDER BY is_current DESC, rowid"  # noqa: S608
        ) as cursor:
            return [
                Identity(
                    installation_id=row[0],
                    secret=row[1],
                    receiver_url=row[2],
                    submit_key=row[3],
                    first_week=from_timestamp(row[4]),
                    current=bool(row[5]),
                    refused_status=row[6],
                    deletion_requested=bool(row[7]),
                    deletion_attempts=row[8],
                    next_deletion_at=None if row[9] is None else from_timestamp(row[9]),
                )
                async for row in cursor
            ]

    async def current(self) -> Identity | None:
        """The identity new weeks are sent under (None while sharing is off)."""
        return next((item for item in await self.all() if item.current), None)

    async def add(self, identity: Identity) -> None:
        """Add an identity; a current one replaces the current one, which is retired (kept)."""
        async with self._database.transaction():
            if identity.current:
                await self._db.execute("UPDATE identities SET is_current = 0 WHERE is_current = 1")
            await self._db.execute(
                f"INSERT INTO identities ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                (
                    identity.installation_id,
                    identity.secret,
                    identity.receiver_url,
                    identity.submit_key,
                    int(week_start(identity.first_week).timestamp()),
                    int(identity.current),
                    identity.refused_status,
                    int(identity.deletion_requested),
                    identity.deletion_attempts,
                    None
                    if identity.next_deletion_at is None
                    else identity.next_deletion_at.timestamp(),
                ),
            )

    async def retire(self, installation_id: str) -> None:
        """No new weeks are sent under this id; it is kept (with its secret) for deletion."""
        await self._db.execute(
            "UPDATE identities SET is_current = 0 WHERE installation_id = ?", (installation_id,)
        )

    async def forget(self, installation_id: str) -> None:
        """Drop an identity (nothing of it can be at a receiver, or its deletion was confirmed)."""
        await self._db.execute(
            "DELETE FROM identities WHERE installation_id = ?", (installation_id,)
        )

    async def set_receiver(self, installation_id: str, receiver_url: str, submit_key: str) -> None:
        """The same receiver under another submit key (or spelling): a credentials refusal of the
        old ones no longer applies."""
        await self._db.execute(
            "UPDATE identities SET receiver_url = ?, submit_key = ?, refused_status = NULL "
            "WHERE installation_id = ?",
            (receiver_url, submit_key, installation_id),
        )

    async def set_refused(self, installation_id: str, status: int | None) -> None:
        """The receiver refused (401/403), or accepted again (None), this identity's credentials."""
        await self._db.execute(
            "UPDATE identities SET refused_status = ? WHERE installation_id = ?",
            (status, installation_id),
        )

    async def request_deletion(self, installation_id: str) -> None:
        """Ask the receiver to delete this id's data, at once (also when it was asked before)."""
        await self._db.execute(
            "UPDATE identities SET deletion_requested = 1, next_deletion_at = NULL "
            "WHERE installation_id = ?",
            (installation_id,),
        )

    async def deletion_failed(self, installation_id: str, next_attempt_at: datetime) -> None:
        """The receiver did not confirm: ask again at `next_attempt_at`."""
        await self._db.execute(
            "UPDATE identities SET deletion_attempts = deletion_attempts + 1, "
            "next_deletion_at = ? WHERE installation_id = ?",
            (next_attempt_at.timestamp(), installation_id),
        )

    async def deletion_confirmed(self, installation_id: str) -> None:
        """The receiver confirmed the deletion: a retired id is forgotten, the current one stays
        (sharing goes on under it)."""
        async with self._database.transaction():
            await self._db.execute(
                "DELETE FROM identities WHERE installation_id = ? AND is_current = 0",
                (installation_id,),
            )
            await self._db.execute(
                "UPDATE identities SET deletion_requested = 0, deletion_attempts = 0, "
                "next_deletion_at = NULL WHERE installation_id = ?",
                (installation_id,),
            )

    async def clamp_waits(self, latest: datetime) -> int:
        """No deletion waits beyond `latest` (the clock went back). Returns how many were shortened."""
        cursor = await self._db.execute(
            "UPDATE identities SET next_deletion_at = ? WHERE next_deletion_at > ?",
            (latest.timestamp(), latest.timestamp()),
        )
        return cursor.rowcount

    async def export(self) -> list[dict[str, object]]:
        """The identities as JSON-ready rows, without their secrets and submit keys, the receiver by
        its host only."""
        return [
            {
                "installation_id": item.installation_id,
                "current": item.current,
                "first_week": iso_z(item.first_week),
                "receiver_host": receiver_host(item.receiver_url),
                "deletion_requested": item.deletion_requested,
                "deletion_attempts": item.deletion_attempts,
            }
            for item in await self.all()
        ]
