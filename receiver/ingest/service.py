"""Ingest rules: who may write, how often, and what is stored for a validated payload."""

import hmac
import time
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.db.transactions import Database
from receiver.ingest import repository
from receiver.ingest.breakdown import model_error_rows, model_usage_rows, week_of
from receiver.ingest.postgres_writer import PostgresIngestWriter
from receiver.ingest.repository import NEW_USAGE_COLUMNS
from receiver.ingest.rules import Outcome, Stored, decide, rate_limited
from receiver.ingest.schema import Payload11
from receiver.ingest.validation import ValidPayload
from receiver.ingest.weeks import attributed_week
from receiver.security.client_limit import IngestQuota, NewInstallationLimiter

RATE_WINDOW_SECONDS = 3600


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
    *,
    may_create: bool,
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
        "may_create": may_create,
    }


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


class IngestService:
    """Stores validated submissions under the ingest rules (rules.py): ownership, the per-installation
    hourly limit, new installations per client address per day and the global hourly quota.

    PostgreSQL writes through `postgres_writer` (one statement per submission, group-committed);
    SQLite runs the same steps in one transaction. Both give the same outcomes (tested on both).
    """

    def __init__(
        self,
        database: Database,
        rate_limit_per_hour: int,
        postgres_writer: PostgresIngestWriter | None = None,
        dry_run: bool = False,
        *,
        new_installations: NewInstallationLimiter | None = None,
        quota: IngestQuota | None = None,
    ) -> None:
        self.database = database
        self.rate_limit_per_hour = rate_limit_per_hour
        self.is_postgres = database.dialect_name == "postgresql"
        self.statements = None if self.is_postgres else repository.IngestStatements()
        self.postgres_writer = postgres_writer
        self._owned_writer: PostgresIngestWriter | None = None
        self.dry_run = dry_run  # benchmarks only: everything up to the database write
        # (`is None`: an empty limiter has len() 0 and is falsy)
        self.new_installations = (
            NewInstallationLimiter(0) if new_installations is None else new_installations
        )
        self.quota = IngestQuota(0) if quota is None else quota

    async def store(
        self,
        valid: ValidPayload,
        secret_hash: str | None,
        now: datetime,
        client: str | None = None,
    ) -> Stored:
        """Store (or replace) one period: "stored" or "duplicate"; raises ApiError 403 or 429."""
        moment = time.time()
        window_start = int(moment) - int(moment) % RATE_WINDOW_SECONDS
        self.quota.take(moment)
        may_create = self.new_installations.reserve(client, moment)
        outcome: Outcome | None = None
        try:
            outcome = await self._write(valid, secret_hash, now, window_start, may_create)
        finally:
            if outcome is None or not outcome.stored:
                self.quota.give_back(moment)
            if may_create and (outcome is None or not outcome.created):
                self.new_installations.release(client, moment)
        return decide(
            outcome,
            may_create=may_create,
            new_id_refused=self.new_installations.limited(moment),
            limited=rate_limited(
                self.rate_limit_per_hour, window_start + RATE_WINDOW_SECONDS - int(moment)
            ),
        )

    async def _write(
        self,
        valid: ValidPayload,
        secret_hash: str | None,
        now: datetime,
        window_start: int,
        may_create: bool,
    ) -> Outcome:
        latest, submission, breakdown = _rows(valid, secret_hash, now)
        if self.dry_run:
            return Outcome(owner_ok=True, known=True, counted=True, stored=True, replaced=False)
        if self.is_postgres:
            writer = self.postgres_writer or await self._own_writer()
            return await writer.ingest(
                _statement_parameters(
                    latest,
                    submission,
                    breakdown,
                    window_start,
                    self.rate_limit_per_hour,
                    may_create=may_create,
                )
            )
        return await self._store_in_one_transaction(
            latest, submission, breakdown, window_start, may_create
        )

    async def _own_writer(self) -> PostgresIngestWriter:
        """Scripts (demo-data) that build the service without a writer get a small one of their
        own on PostgreSQL: still the one ingest path. `close()` closes it."""
        writer = PostgresIngestWriter(
            self.database.engine.url.render_as_string(hide_password=False), pool_size=2
        )
        await writer.open()
        self.postgres_writer = self._owned_writer = writer
        return writer

    async def close(self) -> None:
        """Close a writer this service opened itself (never the server's)."""
        if self._owned_writer is not None:
            await self._owned_writer.close()
            self._owned_writer = self.postgres_writer = None

    async def _store_in_one_transaction(
        self,
        latest: dict[str, Any],
        submission: dict[str, Any],
        breakdown: repository.Breakdown,
        window_start: int,
        may_create: bool,
    ) -> Outcome:
        statements = self.statements
        assert statements is not None
        installation_id = latest["installation_id"]

        async def work(connection: AsyncConnection) -> Outcome:
            known, stored_hash = await repository.installation_secret(connection, installation_id)
            owner_ok = stored_hash is None or hmac.compare_digest(
                stored_hash, latest["secret_hash"] or ""
            )
            refused = Outcome(owner_ok, known, counted=False, stored=False, replaced=False)
            if not owner_ok or not (known or may_create):
                return refused
            if not await repository.count_request(
                connection, statements, installation_id, window_start, self.rate_limit_per_hour
            ):
                return refused
            if not await repository.claim_installation(connection, statements, latest):
                return Outcome(owner_ok, known, counted=True, stored=False, replaced=False)
            replaced = await repository.period_stored(
                connection, installation_id, submission["period_start"], submission["period_end"]
            )
            submission_id = await repository.store_submission(connection, statements, submission)
            await repository.replace_breakdown(connection, submission_id, breakdown)
            return Outcome(owner_ok, known, counted=True, stored=True, replaced=replaced)

        return await self.database.write(work)
