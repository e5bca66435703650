"""Migration 0003: every stored window is attributed to one ISO week (submissions.week_start)."""

import uuid
from datetime import UTC, date, datetime

import pytest
from alembic import command
from sqlalchemy import Connection, DateTime, bindparam, text

from receiver.db.engine import create_engine
from receiver.db.schema_version import alembic_config
from receiver.ingest.weeks import attributed_week

# (period_start, period_end, the Monday the window counts for)
WINDOWS = (
    # a whole ISO week (schema 1.1): the week it covers, not the week its exclusive end opens
    (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC), date(2026, 11, 2)),
    # a schema-1.0 rolling window ending on a Wednesday: that Wednesday's week
    (
        datetime(2026, 11, 4, 14, 2, 3, 123456, tzinfo=UTC),
        datetime(2026, 11, 11, 14, 2, 3, 123456, tzinfo=UTC),
        date(2026, 11, 9),
    ),
    # ending one microsecond into a Monday: that Monday's week
    (
        datetime(2026, 11, 9, 0, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 11, 16, 0, 0, 0, 1, tzinfo=UTC),
        date(2026, 11, 16),
    ),
)


def test_attributed_week_is_the_week_of_the_last_instant() -> None:
    for _, end, week in WINDOWS:
        assert attributed_week(end) == week


def _migrate(connection: Connection, direction: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, direction)(config, revision)


@pytest.mark.empty_database
async def test_migration_0003_backfills_the_week_and_goes_back(database_url: str) -> None:
    engine = create_engine(database_url)
    insert = text(
        "INSERT INTO submissions (installation_id, period_start, period_end, received_at, "
        "schema_version, country_code, deployment_mode, printer_count, job_count, aggregate) "
        "VALUES (:id, :start, :end, :end, '1.0', 'DE', 'haos', 2, 5, '{}')"
    ).bindparams(
        bindparam("start", type_=DateTime(timezone=True)),
        bindparam("end", type_=DateTime(timezone=True)),
    )
    installation_id = str(uuid.uuid4())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "upgrade", "0002")
            for start, end, _ in WINDOWS:
                await connection.execute(
                    insert, {"id": installation_id, "start": start, "end": end}
                )
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "upgrade", "0003")
            rows = await connection.execute(
                text("SELECT week_start FROM submissions ORDER BY period_end")
            )
            stored = [row[0] for row in rows]
            # SQLite returns the Date as text through a raw query
            assert [str(week) for week in stored] == [str(week) for _, _, week in WINDOWS]
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "downgrade", "0002")
            rows = await connection.execute(text("SELECT count(*) FROM submissions"))
            assert rows.scalar_one() == len(WINDOWS)
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "upgrade", "head")
    finally:
        await engine.dispose()
