"""Tables (SQLAlchemy Core). Every change here needs an Alembic migration in db/migrations."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
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
    UniqueConstraint("installation_id", "period_start", "period_end", name="uq_submissions_period"),
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
