"""Ingest rules: who may write, how often, and what is stored for a validated payload."""

import time
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.db.transactions import Database
from receiver.errors import ApiError
from receiver.ingest import repository
from receiver.ingest.breakdown import model_error_rows, model_usage_rows, week_of
from receiver.ingest.postgres_statement import INGEST_STATEMENT
from receiver.ingest.postgres_writer import PostgresIngestWriter
from receiver.ingest.repository import NEW_USAGE_COLUMNS
from receiver.ingest.schema import Payload11
from receiver.ingest.validation import ValidPayload
from receiver.ingest.weeks import attributed_week
from receiver.security.ownership import wrong_secret

RATE_WINDOW_SECONDS = 3600


class _RateLimited(Exception):
    pass


class _NotOwner(Exception):
    pass


def _rows(
    valid: ValidPayload, secret_hash: str | None, now: datetime
) -> tuple[dict[str, Any], dict[str, Any], repository.Breakdown]:
    payload = valid.payload
    installation = payload.installation
    fleet = payload.printer_fleet
    is_11 = isinstance(payload, Payload11)
    data_source = _text(installation, "data_source") if is_11 else None
    common = {
        "installation_id": valid.installation_id,
        "schema_version": valid.schema_version,
        "country_code": installation.country_code,
        "deployment_mode": installation.deployment_mode,
        "data_source": data_source,
        "printer_count": fleet.printer_count,
    }
    latest = {
        **common,
        "secret_hash": secret_hash,
        "first_received_at": now,
        "last_received_at": now,
        "last_period_end": valid.period_end,
        "app_version": installation.app_version,
        "integration_version": _text(installation, "integration_version") if is_11 else None,
        "ha_version": _text(installation, "ha_version") if is_11 else None,
        "platform": installation.platform,
        "printer_type_counts": fleet.printer_type_counts,
    }
    submission = {
        **common,
        "period_start": valid.period_start,
        "period_end": valid.period_end,
        "week_start": attributed_week(valid.period_end),
        "received_at": now,
        "job_count": payload.usage_stats.job_count,
        "aggregate": msgspec.to_builtins(payload),
        **{name: _number(payload.usage_stats, name) for name in NEW_USAGE_COLUMNS},
    }
    breakdown = repository.Breakdown(
        week=week_of(valid.period_start, valid.period_end),
        models=model_usage_rows(payload) if isinstance(payload, Payload11) else [],
        errors=model_error_rows(payload) if isinstance(payload, Payload11) else [],
    )
    return latest, submission, breakdown


def _text(struct: object, name: str) -> str | None:
    value = getattr(struct, name, None)
    return value if isinstance(value, str) else None


def _number(struct: object, name: str) -> int | float | None:
    value = getattr(struct, name, None)
    return value if isinstance(value, int | float) else None


def _statement_parameters(
    latest: dict[str, Any],
    submission: dict[str, Any],
    breakdown: repository.Breakdown,
    window_start: int,
    limit: int,
) -> dict[str, Any]:
    return {
        **latest,
        "now": submission["received_at"],
        "period_start": submission["period_start"],
        "period_end": submission["period_end"],
        "week_start": submission["week_start"],
        "job_count": submission["job_count"],
        **{name: submission[name] for name in NEW_USAGE_COLUMNS},
        "printer_type_counts": _json(latest["printer_type_counts"]),
        "aggregate": _json(submission["aggregate"]),
        "week": breakdown.week,
        "model_usage": _json(breakdown.models),
        "model_errors": _json(breakdown.errors),
        "window_start": window_start,
        "limit": limit,
    }


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


class IngestService:
    def __init__(
        self,
        database: Database,
        rate_limit_per_hour: int,
        postgres_writer: PostgresIngestWriter | None = None,
        dry_run: bool = False,
    ) -> None:
        self.database = database
        self.rate_limit_per_hour = rate_limit_per_hour
        self.statements = repository.IngestStatements(database.dialect_name)
        self.single_statement = database.dialect_name == "postgresql"
        self.postgres_writer = postgres_writer
        self.dry_run = dry_run  # benchmarks only: everything up to the database write

    async def store(self, valid: ValidPayload, secret_hash: str | None, now: datetime) -> None:
        """Store (or replace) one period; raises ApiError 403 or 429."""
        latest, submission, breakdown = _rows(valid, secret_hash, now)
        epoch = int(time.time())
        window_start = epoch - epoch % RATE_WINDOW_SECONDS
        try:
            if self.single_statement:
                parameters = _statement_parameters(
                    latest, submission, breakdown, window_start, self.rate_limit_per_hour
                )
                if not self.dry_run:
                    await self._store_in_one_statement(parameters)
            elif self.dry_run:
                return
            else:
                await self._store_in_one_transaction(latest, submission, breakdown, window_start)
        except _NotOwner:
            raise wrong_secret() from None
        except _RateLimited:
            retry_after = window_start + RATE_WINDOW_SECONDS - int(time.time())
            raise ApiError(
                429,
                "rate_limited",
                f"This installation already sent {self.rate_limit_per_hour} submissions this "
                "hour; retry later.",
                headers={"Retry-After": str(max(retry_after, 1))},
            ) from None

    async def _store_in_one_statement(self, parameters: dict[str, Any]) -> None:
        async def work(connection: AsyncConnection) -> tuple[bool, bool, bool]:
            row = (await connection.execute(INGEST_STATEMENT, parameters)).one()
            return bool(row.owner_ok), bool(row.counted), bool(row.stored)

        if self.postgres_writer is not None:
            owner_ok, counted, stored = await self.postgres_writer.ingest(parameters)
        else:
            owner_ok, counted, stored = await self.database.autocommit(work)
        if not owner_ok:
            raise _NotOwner
        if not counted:
            raise _RateLimited
        if not stored:  # another secret claimed this installation a moment ago
            raise _NotOwner

    async def _store_in_one_transaction(
        self,
        latest: dict[str, Any],
        submission: dict[str, Any],
        breakdown: repository.Breakdown,
        window_start: int,
    ) -> None:
        async def work(connection: AsyncConnection) -> None:
            if not await repository.claim_installation(connection, self.statements, latest):
                raise _NotOwner
            if not await repository.count_request(
                connection,
                self.statements,
                latest["installation_id"],
                window_start,
                self.rate_limit_per_hour,
            ):
                raise _RateLimited
            submission_id = await repository.store_submission(
                connection, self.statements, submission
            )
            await repository.replace_breakdown(connection, submission_id, breakdown)

        await self.database.write(work)
