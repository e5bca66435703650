"""SQLite: the SQL for storing a submission — ownership, rate limit, latest state, idempotent upsert,
breakdown — as statements of one short transaction (see service.py). PostgreSQL runs the same steps as
one statement (postgres_statement.py); both produce the `Outcome` of rules.py.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import TextClause, and_, bindparam, case, delete, insert, or_, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.db.dialect import upsert
from receiver.db.tables import (
    installations,
    rate_limits,
    submission_model_errors,
    submission_models,
    submissions,
)

LATEST_STATE_COLUMNS = (
    "schema_version",
    "app_version",
    "integration_version",
    "ha_version",
    "platform",
    "deployment_mode",
    "country_code",
    "data_source",
    "printer_count",
    "printer_type_counts",
)
# The columns of the idempotency constraint `uq_submissions_period`: a period is stored once per
# installation (a re-send replaces it). `week_start` is a function of `period_end`, so it changes
# nothing about which rows conflict; it is in the key because PostgreSQL partitions `submissions` by
# it (a unique constraint there must contain the partition key) and the SQL is the same on both.
PERIOD_KEY = ("installation_id", "period_start", "period_end", "week_start")
# Schema 1.1 fleet totals stored as columns of `submissions` (NULL when not sent).
NEW_USAGE_COLUMNS = ("jobs_ended_without_outcome", "paused_hours", "filament_m", "active_printers")


@dataclass(frozen=True, slots=True)
class Breakdown:
    """A submission's per-model rows (breakdown.py) and the ISO week (its Monday) they count for."""

    week: date
    models: list[dict[str, Any]]
    errors: list[dict[str, Any]]


def compiled_once(statement: Any) -> TextClause:
    """The statement as typed `text()`, compiled now.

    SQLAlchemy cannot cache dialect `INSERT ... ON CONFLICT` constructs (no cache key), so executing
    them compiles them on every request; the same SQL as `text()` with typed bind parameters is
    cached. Every row passed later must supply every column (the callers do).
    """
    dialect = sqlite.dialect(paramstyle="named")
    keys = [
        column.key
        for column in statement.table.c
        if not (column.primary_key and column.autoincrement is True)
    ]
    compiled = statement.compile(dialect=dialect, column_keys=keys)
    binds = [
        bindparam(name, value=parameter.effective_value, type_=parameter.type)
        for parameter, name in compiled.bind_names.items()
    ]
    return text(compiled.string.replace("::", "\\:\\:")).bindparams(*binds)


class IngestStatements:
    """SQLite statements built and compiled once and executed with parameters only."""

    def __init__(self) -> None:
        self.claim_installation = compiled_once(self._claim_installation())
        self.count_request = compiled_once(self._count_request())
        self.store_submission = compiled_once(self._store_submission())

    @staticmethod
    def _claim_installation() -> Any:
        statement = upsert(installations, "sqlite")
        excluded = statement.excluded
        current = installations.c
        newer = excluded.last_period_end >= current.last_period_end
        latest = {
            name: case((newer, excluded[name]), else_=current[name])
            for name in (*LATEST_STATE_COLUMNS, "last_period_end")
        }
        return statement.on_conflict_do_update(
            index_elements=[current.installation_id],
            set_={
                **latest,
                "secret_hash": case(
                    (current.secret_hash.is_(None), excluded.secret_hash),
                    else_=current.secret_hash,
                ),
                "last_received_at": excluded.last_received_at,
            },
            where=or_(current.secret_hash.is_(None), current.secret_hash == excluded.secret_hash),
        ).returning(current.installation_id)

    @staticmethod
    def _count_request() -> Any:
        statement = upsert(rate_limits, "sqlite")
        excluded = statement.excluded
        current = rate_limits.c
        same_window = current.window_start == excluded.window_start
        return statement.on_conflict_do_update(
            index_elements=[current.installation_id],
            set_={
                "count": case((same_window, current.count + 1), else_=1),
                "window_start": excluded.window_start,
            },
            where=or_(
                ~same_window,
                and_(
                    same_window, current.count < bindparam("limit", type_=rate_limits.c.count.type)
                ),
            ),
        ).returning(current.count)

    @staticmethod
    def _store_submission() -> Any:
        statement = upsert(submissions, "sqlite")
        excluded = statement.excluded
        replaced = [
            name
            for name in submissions.c.keys()  # noqa: SIM118
            if name not in ("id", *PERIOD_KEY)
        ]
        return statement.on_conflict_do_update(
            index_elements=[submissions.c[name] for name in PERIOD_KEY],
            set_={name: excluded[name] for name in replaced},
        ).returning(submissions.c.id)


async def installation_secret(
    connection: AsyncConnection, installation_id: str
) -> tuple[bool, str | None]:
    """(the installation exists, its secret hash)."""
    row = (
        await connection.execute(
            select(installations.c.secret_hash).where(
                installations.c.installation_id == installation_id
            )
        )
    ).first()
    return (False, None) if row is None else (True, row.secret_hash)


async def period_stored(
    connection: AsyncConnection, installation_id: str, start: datetime, end: datetime
) -> bool:
    """Whether this installation's period is stored already (a re-send replaces it)."""
    row = (
        await connection.execute(
            select(submissions.c.id).where(
                submissions.c.installation_id == installation_id,
                submissions.c.period_start == start,
                submissions.c.period_end == end,
            )
        )
    ).first()
    return row is not None


async def claim_installation(
    connection: AsyncConnection, statements: IngestStatements, row: dict[str, Any]
) -> bool:
    """Insert/update the latest state; False when the installation's secret does not match."""
    result = await connection.execute(statements.claim_installation, row)
    return result.first() is not None


async def count_request(
    connection: AsyncConnection,
    statements: IngestStatements,
    installation_id: str,
    window_start: int,
    limit: int,
) -> bool:
    """Count one submission in the current window; False when the window is already full."""
    result = await connection.execute(
        statements.count_request,
        {
            "installation_id": installation_id,
            "window_start": window_start,
            "count": 1,
            "limit": limit,
        },
    )
    return result.first() is not None


async def store_submission(
    connection: AsyncConnection, statements: IngestStatements, row: dict[str, Any]
) -> int:
    """Insert or replace the period's submission; returns its id (kept when replaced)."""
    return int((await connection.execute(statements.store_submission, row)).scalar_one())


async def replace_breakdown(
    connection: AsyncConnection, submission_id: int, breakdown: Breakdown
) -> None:
    """The submission's breakdown rows become exactly `breakdown` (a re-sent period replaces them)."""
    for table, rows in (
        (submission_models, breakdown.models),
        (submission_model_errors, breakdown.errors),
    ):
        await connection.execute(delete(table).where(table.c.submission_id == submission_id))
        if rows:
            await connection.execute(
                insert(table),
                [{**row, "submission_id": submission_id, "week": breakdown.week} for row in rows],
            )
