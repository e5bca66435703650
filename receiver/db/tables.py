"""Tables (SQLAlchemy Core). Every change here needs an Alembic migration in db/migrations."""

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID_LENGTH = 36

# The logical table. On PostgreSQL it is partitioned by RANGE (week_start), one partition per month
# (migration 0009, receiver/db/partitions.py), with the primary key (id, week_start) there — a
# partitioned table's keys must contain the partition key; ids still come from one sequence and are
# unique. SQLite keeps this plain table. The period constraint holds week_start on both, so the
# ingest's ON CONFLICT is the same SQL (week_start is a function of period_end: idempotency unchanged).
submissions = Table(
    "submissions",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("installation_id", String(ID_LENGTH), nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("period_end", DateTime(timezone=True), nullable=False, index=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("schema_version", String(8), nullable=False),
    Column("country_code", String(2), nullable=False),
    Column("deployment_mode", String(64), nullable=False),
    Column("data_source", String(64), nullable=True),
    Column("printer_count", Integer, nullable=False),
    Column("job_count", Integer, nullable=False),
    Column("aggregate", JSON, nullable=False),
    # schema 1.1 additions (fleet totals; NULL when not sent)
    Column("jobs_ended_without_outcome", Integer, nullable=True),
    Column("paused_hours", Float, nullable=True),
    Column("filament_m", Float, nullable=True),
    Column("active_printers", Integer, nullable=True),
    # The Monday of the ISO week the window is attributed to: the week holding its last instant
    # (period_end is exclusive). Analytics count an installation at most once per week through it.
    Column("week_start", Date, nullable=False),
    UniqueConstraint(
        "installation_id", "period_start", "period_end", "week_start", name="uq_submissions_period"
    ),
    Index("ix_submissions_week_start_installation", "week_start", "installation_id"),
)


# The per-model breakdown of a stored submission (schema 1.1 `usage_by_model` / `errors_by_model`),
# replaced together with its submission and erased with its installation. `week` is the Monday of the
# ISO week the submission counts for (the week holding the middle of its period), so analytics over a
# range of weeks reads an index. Hours and metres are stored as whole hundredths: sums are exact
# integers, identical on SQLite and PostgreSQL. `submission_id` is `submissions.id` without a foreign
# key (its per-row check was the largest cost of storing the breakdown on PostgreSQL): every path
# that deletes submissions — replace, GDPR deletion, purge — deletes these rows itself.
def _submission_reference() -> Column[int]:
    return Column("submission_id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)


submission_models = Table(
    "submission_models",
    metadata,
    _submission_reference(),
    Column("family", String(64), primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("week", Date, nullable=False, index=True),
    Column("printers", Integer, nullable=False),
    Column("active_printers", Integer, nullable=False),
    Column("jobs_started", Integer, nullable=False),
    Column("jobs_completed", Integer, nullable=False),
    Column("jobs_failed", Integer, nullable=False),
    Column("jobs_cancelled", Integer, nullable=False),
    Column("jobs_ended_without_outcome", Integer, nullable=False),
    Column("print_centihours", Integer, nullable=False),
    Column("paused_centihours", Integer, nullable=False),
    Column("filament_cm", Integer, nullable=True),
)

submission_model_errors = Table(
    "submission_model_errors",
    metadata,
    _submission_reference(),
    Column("family", String(64), primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("week", Date, nullable=False, index=True),
    Column("count", Integer, nullable=False),
)

# The latest state per installation (from its submission with the latest period), kept at ingest so
# analytics never scans all submissions; also holds the hash of the installation's ownership secret.
installations = Table(
    "installations",
    metadata,
    Column("installation_id", String(ID_LENGTH), primary_key=True),
    Column("secret_hash", String(64), nullable=True),
    Column("first_received_at", DateTime(timezone=True), nullable=False),
    Column("last_received_at", DateTime(timezone=True), nullable=False),
    Column("last_period_end", DateTime(timezone=True), nullable=False),
    Column("schema_version", String(8), nullable=False),
    Column("app_version", String(64), nullable=False),
    Column("integration_version", String(64), nullable=True),
    Column("ha_version", String(64), nullable=True),
    Column("platform", String(64), nullable=False),
    Column("deployment_mode", String(64), nullable=False),
    Column("country_code", String(2), nullable=False),
    Column("data_source", String(64), nullable=True),
    Column("printer_count", Integer, nullable=False),
    Column("printer_type_counts", JSON, nullable=False),
)

# One fixed hourly window per installation; updated with a single atomic upsert.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("installation_id", String(ID_LENGTH), primary_key=True),
    Column("window_start", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
)


# ---------------------------------------------------------------------------------------------------
# Analytics rollups (receiver/analytics/rollup_*.py), kept up to date incrementally from `submissions`.
# `installation_weeks` holds, per installation and ISO week (`submissions.week_start`), the one
# submission that counts for that week (latest period end, then newest id) as plain columns; the
# child tables hold its printers per model, its enabled features and its error counts. Every path
# that deletes submissions (GDPR deletion, purge) deletes the matching rollup rows itself.


def _installation_week_key() -> tuple[Column[str], Column[Any]]:
    return (
        Column("installation_id", String(ID_LENGTH), primary_key=True),
        Column("week", Date, primary_key=True),
    )


installation_weeks = Table(
    "installation_weeks",
    metadata,
    *_installation_week_key(),
    Column("submission_id", BigInteger().with_variant(Integer(), "sqlite"), nullable=False),
    Column("period_end", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("schema_version", String(8), nullable=False),
    Column("product", String(16), nullable=False),
    Column("app_version", String(64), nullable=False),
    Column("deployment_mode", String(64), nullable=False),
    Column("country_code", String(2), nullable=False),
    Column("printer_count", Integer, nullable=False),
    Column("job_count", Integer, nullable=False),
    # schema 1.1 outcomes (NULL when the report has none, e.g. schema 1.0)
    Column("jobs_started", Integer, nullable=True),
    Column("jobs_completed", Integer, nullable=True),
    Column("jobs_failed", Integer, nullable=True),
    Column("jobs_cancelled", Integer, nullable=True),
    Column("jobs_ended_without_outcome", Integer, nullable=True),
    Column("print_centihours", BigInteger, nullable=True),
    Column("paused_centihours", BigInteger, nullable=True),
    Column("filament_cm", BigInteger, nullable=True),
    Column("errors", Integer, nullable=False),
    Index("ix_installation_weeks_week", "week"),
    Index("ix_installation_weeks_submission_id", "submission_id"),
)

installation_week_printers = Table(
    "installation_week_printers",
    metadata,
    *_installation_week_key(),
    Column("family", String(64), primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("printers", Integer, nullable=False),
    Index("ix_installation_week_printers_week", "week"),
)

installation_week_features = Table(
    "installation_week_features",
    metadata,
    *_installation_week_key(),
    Column("feature", String(64), primary_key=True),
    Index("ix_installation_week_features_week", "week"),
)

# kind "type": a key of error_summary other than total_errors; kind "code": a key of errors_by_code
installation_week_errors = Table(
    "installation_week_errors",
    metadata,
    *_installation_week_key(),
    Column("kind", String(8), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("count", Integer, nullable=False),
    Index("ix_installation_week_errors_week", "week"),
)

# The first and last week each installation counted for (new / gone quiet per week).
installation_spans = Table(
    "installation_spans",
    metadata,
    Column("installation_id", String(ID_LENGTH), primary_key=True),
    Column("first_week", Date, nullable=False, index=True),
    Column("last_week", Date, nullable=False, index=True),
)

# The incremental refresh reads submissions changed since its watermark through this index, page by
# page in (received_at, id) order.
Index("ix_submissions_received_at_id", submissions.c.received_at, submissions.c.id)

# Bookkeeping of the incremental refresh: one row, its watermark on submissions.received_at.
rollup_state = Table(
    "rollup_state",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("watermark", DateTime(timezone=True), nullable=True),
)

# The submissions of the last refresh's margin (rollup_refresh.py) that it already rolled up: the next
# refresh re-reads the margin for late commits but marks weeks and moves installations only for rows
# not listed by an earlier refresh (`refresh_until`: the refresh that listed them). A re-sent period
# keeps its id with a new `received_at`, so it counts as new.
rollup_margin_seen = Table(
    "rollup_margin_seen",
    metadata,
    Column(
        "submission_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("received_at", DateTime(timezone=True), primary_key=True),
    Column("refresh_until", DateTime(timezone=True), nullable=False),
)

# E-mail reports the schedule has claimed (one row per report, shared by every worker and host, so
# each report is sent once); `sent_at` stays NULL until the message went out.
sent_reports = Table(
    "sent_reports",
    metadata,
    Column("kind", String(8), primary_key=True),
    Column("label", String(16), primary_key=True),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
)


# ---------------------------------------------------------------------------------------------------
# Summaries of the rollups (receiver/analytics/summaries.py), recomputed for the weeks a refresh,
# an erasure or a purge touched (`dirty_weeks`), so answers read a few rows per week instead of
# grouping every installation's week. `weekly_counts`: installations per week and value
# (dimension `active`, `version`, `mode`, `country`, `feature`, `printers`, `error`); `window_counts`:
# the same over each installation's latest report in the 4 weeks ending with `until_week`.
def _summary_key(first: str) -> tuple[Column[Any], ...]:
    return (
        Column(first, Date, primary_key=True),
        Column("dimension", String(16), primary_key=True),
        Column("key1", String(64), primary_key=True),
        Column("key2", String(64), primary_key=True),
    )


weekly_counts = Table(
    "weekly_counts",
    metadata,
    *_summary_key("week"),
    Column("installations", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("completed", BigInteger, nullable=False),
    Column("failed", BigInteger, nullable=False),
    Column("cancelled", BigInteger, nullable=False),
)

window_counts = Table(
    "window_counts",
    metadata,
    *_summary_key("until_week"),
    Column("installations", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
)

# The job sums kept per week (weekly_jobs) and per week and model (weekly_model_jobs).
JOB_SUMS = (
    "started",
    "completed",
    "failed",
    "cancelled",
    "ended_without_outcome",
    "print_centihours",
    "paused_centihours",
    "filament_cm",
    "filament_reports",
)

weekly_jobs = Table(
    "weekly_jobs",
    metadata,
    Column("week", Date, primary_key=True),
    Column("active", Integer, nullable=False),
    Column("reports", Integer, nullable=False),
    *(Column(name, BigInteger, nullable=True) for name in JOB_SUMS),
    Column("legacy_job_count", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
)

weekly_model_jobs = Table(
    "weekly_model_jobs",
    metadata,
    Column("week", Date, primary_key=True),
    Column("family", String(64), primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("installation_weeks", Integer, nullable=False),
    *(Column(name, BigInteger, nullable=True) for name in JOB_SUMS),
)

dirty_weeks = Table("dirty_weeks", metadata, Column("week", Date, primary_key=True))
# Active windows whose `window_counts` are out of date; recomputed when an answer asks for them.
stale_windows = Table("stale_windows", metadata, Column("until_week", Date, primary_key=True))

# Scratch for one recomputation (under the rollup lock): the latest counted week of each
# installation active in the window being recomputed.
window_latest = Table(
    "window_latest",
    metadata,
    Column("installation_id", String(ID_LENGTH), primary_key=True),
    Column("week", Date, nullable=False),
)


# ---------------------------------------------------------------------------------------------------
# Rollups of the per-model breakdown and of stored submissions (receiver/analytics/model_rollups.py),
# recomputed with the other summaries for the dirty weeks. Schema 1.1 periods are whole ISO weeks and
# a period is stored once per installation (a re-sent one replaces it), so an installation has at most
# one submission with a breakdown per week: a week's breakdown rows are exactly what counts for it.
# `installation_week_models`: which (family, model) each installation reported usage for in a week;
# `weekly_model_firsts` counts them per week by the installation's previous week with that model
# (NULL: none), so installations per model over a range are the rows of the range whose previous
# week lies before it. `weekly_model_usage` and `weekly_model_errors` are the week's sums.
installation_week_models = Table(
    "installation_week_models",
    metadata,
    Column("installation_id", String(ID_LENGTH), primary_key=True),
    Column("family", String(64), primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("week", Date, primary_key=True),
    Index("ix_installation_week_models_week", "week"),
)

weekly_model_firsts = Table(
    "weekly_model_firsts",
    metadata,
    Column("week", Date, nullable=False),
    Column("family", String(64), nullable=False),
    Column("model", String(64), nullable=False),
    Column("previous_week", Date, nullable=True),
    Column("installations", Integer, nullable=False),
    Index("ix_weekly_model_firsts_week", "week"),
)

weekly_model_usage = Table(
    "weekly_model_usage",
    metadata,
    Column("week", Date, primary_key=True),
    Column("family", String(64), primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("installation_weeks", Integer, nullable=False),
    Column("printer_weeks", BigInteger, nullable=False),
    Column("active_printer_weeks", BigInteger, nullable=False),
    Column("jobs_started", BigInteger, nullable=False),
    Column("jobs_completed", BigInteger, nullable=False),
    Column("jobs_failed", BigInteger, nullable=False),
    Column("jobs_cancelled", BigInteger, nullable=False),
    Column("jobs_ended_without_outcome", BigInteger, nullable=False),
    Column("print_centihours", BigInteger, nullable=False),
    Column("paused_centihours", BigInteger, nullable=False),
    Column("filament_cm", BigInteger, nullable=True),
    Column("filament_reports", Integer, nullable=False),
)

weekly_model_errors = Table(
    "weekly_model_errors",
    metadata,
    Column("week", Date, primary_key=True),
    Column("family", String(64), primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

# Stored submissions per ISO week (`submissions.week_start`), windows that do not count included.
weekly_submissions = Table(
    "weekly_submissions",
    metadata,
    Column("week", Date, primary_key=True),
    Column("submissions", Integer, nullable=False),
)

# The totals of GET /stats/summary (receiver/analytics/summary_totals.py): a copy of each installation's
# summary columns as of the last rollup refresh, and their sums per (dimension, key).
summary_installations = Table(
    "summary_installations",
    metadata,
    Column("installation_id", String(ID_LENGTH), primary_key=True),
    Column("country_code", String(2), nullable=False),
    Column("schema_version", String(8), nullable=False),
    Column("deployment_mode", String(64), nullable=False),
    Column("data_source", String(64), nullable=True),
    Column("printer_count", Integer, nullable=False),
    Column("printer_type_counts", JSON, nullable=False),
    # active in the last 7 / 30 days (GET /stats/installations) is counted here, not in the busy
    # latest-state table (migration 0010)
    Column("last_period_end", DateTime(timezone=True), nullable=False, index=True),
)

summary_totals = Table(
    "summary_totals",
    metadata,
    Column("dimension", String(16), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("installations", BigInteger, nullable=False),
    Column("printers", BigInteger, nullable=False),
)

# New and gone-quiet installations per week (GET /stats/installations), recomputed with the other
# summaries for the dirty weeks from `installation_spans`: installations whose first / last counted
# week it is (migration 0010).
weekly_spans = Table(
    "weekly_spans",
    metadata,
    Column("week", Date, primary_key=True),
    Column("first_week_installations", Integer, nullable=False),
    Column("last_week_installations", Integer, nullable=False),
)
