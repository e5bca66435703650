"""`printernizer-receiver demo-data`: store the simulated world's submissions through the real ingest path.

Every submission is validated by `decode_payload` and stored by `IngestService.store`, exactly as
`POST /submit` does (so whatever ingest maintains — latest state, per-model breakdown — is filled
too), with the simulated arrival time as `received_at`; then the analytics rollups are built once.
"""

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_refresh import refresh_rollups
from receiver.db.engine import create_engine
from receiver.db.partitions import ensure_coming_partitions, months_between
from receiver.db.schema_version import ensure_schema
from receiver.db.tables import submissions
from receiver.db.transactions import Database
from receiver.demo.world import DemoConfig, DemoWorld
from receiver.ingest.service import IngestService
from receiver.ingest.validation import decode_payload
from receiver.security.ownership import secret_hash

# Demo data is stored without a rate limit: a simulated year arrives within seconds.
UNLIMITED = 1_000_000_000


class DemoDataError(RuntimeError):
    """The database cannot take demo data (the message says why)."""


@dataclass(frozen=True, slots=True)
class DemoResult:
    submissions: int
    installations: int
    seconds: float


class ProgressBar:
    """A one-line bar on a terminal (redrawn in place); a line per tenth otherwise (logs, CI)."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None, width: int = 30):
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.interactive = self.stream.isatty()
        self.started = time.monotonic()
        self._last_tenth = -1

    def update(self, done: int, note: str = "") -> None:
        share = min(done / self.total, 1.0)
        filled = round(share * self.width)
        elapsed = time.monotonic() - self.started
        line = (
            f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {share:4.0%} "
            f"{note} {elapsed:5.1f}s"
        )
        if self.interactive:
            self.stream.write(f"\r{line}")
            self.stream.flush()
            return
        tenth = int(share * 10)
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(line + "\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


async def _count(connection: AsyncConnection) -> int:
    return int(
        (await connection.execute(select(func.count()).select_from(submissions))).scalar_one()
    )


async def fill_database(
    database_url: str, config: DemoConfig, *, progress: TextIO | None = None
) -> DemoResult:
    """Upgrade the schema, then store the demo world's submissions; the database must hold none."""
    engine = create_engine(database_url, pool_size=2)
    started = time.monotonic()
    try:
        await ensure_schema(engine, may_upgrade=True)
        database = Database(engine)
        existing = await database.read(_count)
        if existing:
            raise DemoDataError(
                f"the database already holds {existing} submissions; demo data goes into an empty "
                "database (point RECEIVER_DATABASE_URL at a new one)"
            )
        # the demo's past months get their partitions first (PostgreSQL; not the default one)
        await ensure_coming_partitions(
            database, months_between(config.start_monday(), config.end_monday())
        )
        service = IngestService(database, UNLIMITED)
        world = DemoWorld(config)
        now = datetime.now(UTC)
        bar = ProgressBar(config.weeks, "demo data", progress)
        stored = 0
        for week, arrivals in enumerate(world.submissions(now), start=1):
            for arrival in arrivals:
                valid = decode_payload(msgspec.json.encode(arrival.payload), now)
                await service.store(valid, secret_hash(arrival.secret), arrival.received_at)
            stored += len(arrivals)
            bar.update(week, f"week {week}/{config.weeks}, {stored} submissions")
        bar.finish()
        # Build the analytics rollups now, so the dashboard's first load does not wait for them.
        await refresh_rollups(database, datetime.now(UTC))
    finally:
        await engine.dispose()
    installations = sum(1 for item in world.installations if item.arrival < config.weeks)
    return DemoResult(stored, installations, time.monotonic() - started)
