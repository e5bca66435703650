"""Tables (SQLAlchemy Core). Every change here needs an Alembic migration in db/migrations."""

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
    UniqueConstraint("installation_id", "period_start", "period_end", name="uq_submissions_period"),
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
