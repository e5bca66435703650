"""Analytics rollups (one row per installation and ISO week, with printers, features and errors),
installation spans, the refresh watermark, an index on submissions.received_at, and the reporting
views for Grafana / Metabase (docs/receiver.md, "Reporting views").

The rollups start empty; the receiver fills them from the stored submissions on its first analytics
request, or `printernizer-receiver rollup` does it ahead of time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key() -> list[sa.Column[Any]]:
    return [
        sa.Column("installation_id", sa.String(36), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
    ]


# Inlined (not imported from the receiver) so this migration never changes after release. The same
# SQL runs on SQLite and PostgreSQL.
VIEWS = {
    "report_weekly_active_installations": """
SELECT w.week AS week,
       COUNT(*) AS active_installations,
       SUM(CASE WHEN s.first_week = w.week THEN 1 ELSE 0 END) AS new_installations,
       SUM(CASE WHEN s.last_week = w.week THEN 1 ELSE 0 END) AS last_report_installations
FROM installation_weeks AS w
JOIN installation_spans AS s ON s.installation_id = w.installation_id
GROUP BY w.week""",
    "report_weekly_versions": """
SELECT week, product, app_version, COUNT(*) AS installations
FROM installation_weeks
GROUP BY week, product, app_version""",
    "report_weekly_deployment_modes": """
SELECT week, deployment_mode, COUNT(*) AS installations
FROM installation_weeks
GROUP BY week, deployment_mode""",
    "report_weekly_countries": """
SELECT week, country_code, COUNT(*) AS installations
FROM installation_weeks
GROUP BY week, country_code""",
    "report_weekly_printers": """
SELECT week, family, model, COUNT(*) AS installations, SUM(printers) AS printers
FROM installation_week_printers
WHERE printers > 0
GROUP BY week, family, model""",
    "report_weekly_features": """
SELECT f.week AS week, f.feature AS feature, COUNT(*) AS installations,
       (SELECT COUNT(*) FROM installation_weeks AS w WHERE w.week = f.week) AS active_installations
FROM installation_week_features AS f
GROUP BY f.week, f.feature""",
    "report_weekly_jobs": """
SELECT week,
       COUNT(jobs_completed) AS reports,
       SUM(jobs_started) AS started,
       SUM(jobs_completed) AS completed,
       SUM(jobs_failed) AS failed,
       SUM(jobs_cancelled) AS cancelled,
       SUM(jobs_ended_without_outcome) AS ended_without_outcome,
       SUM(print_centihours) / 100.0 AS print_hours,
       SUM(paused_centihours) / 100.0 AS paused_hours,
       SUM(filament_cm) / 100.0 AS filament_m,
       SUM(CASE WHEN jobs_completed IS NULL THEN job_count ELSE 0 END) AS legacy_job_count
FROM installation_weeks
GROUP BY week""",
    "report_weekly_errors": """
SELECT week, 'total' AS kind, 'total_errors' AS name, SUM(errors) AS errors,
       COUNT(*) AS installations
FROM installation_weeks
GROUP BY week
UNION ALL
SELECT week, kind, name, SUM(count) AS errors, COUNT(*) AS installations
FROM installation_week_errors
GROUP BY week, kind, name""",
}


def upgrade() -> None:
    op.create_table(
        "installation_weeks",
        *_key(),
        sa.Column(
            "submission_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("schema_version", sa.String(8), nullable=False),
        sa.Column("product", sa.String(16), nullable=False),
        sa.Column("app_version", sa.String(64), nullable=False),
        sa.Column("deployment_mode", sa.String(64), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("printer_count", sa.Integer(), nullable=False),
        sa.Column("job_count", sa.Integer(), nullable=False),
        sa.Column("jobs_started", sa.Integer(), nullable=True),
        sa.Column("jobs_completed", sa.Integer(), nullable=True),
        sa.Column("jobs_failed", sa.Integer(), nullable=True),
        sa.Column("jobs_cancelled", sa.Integer(), nullable=True),
        sa.Column("jobs_ended_without_outcome", sa.Integer(), nullable=True),
        sa.Column("print_centihours", sa.BigInteger(), nullable=True),
        sa.Column("paused_centihours", sa.BigInteger(), nullable=True),
        sa.Column("filament_cm", sa.BigInteger(), nullable=True),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("installation_id", "week", name="pk_installation_weeks"),
    )
    op.create_index("ix_installation_weeks_week", "installation_weeks", ["week"])
    op.create_index("ix_installation_weeks_submission_id", "installation_weeks", ["submission_id"])
    op.create_table(
        "installation_week_printers",
        *_key(),
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("printers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "installation_id", "week", "family", "model", name="pk_installation_week_printers"
        ),
    )
    op.create_index("ix_installation_week_printers_week", "installation_week_printers", ["week"])
    op.create_table(
        "installation_week_features",
        *_key(),
        sa.Column("feature", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint(
            "installation_id", "week", "feature", name="pk_installation_week_features"
        ),
    )
    op.create_index("ix_installation_week_features_week", "installation_week_features", ["week"])
    op.create_table(
        "installation_week_errors",
        *_key(),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "installation_id", "week", "kind", "name", name="pk_installation_week_errors"
        ),
    )
    op.create_index("ix_installation_week_errors_week", "installation_week_errors", ["week"])
    op.create_table(
        "installation_spans",
        sa.Column("installation_id", sa.String(36), nullable=False),
        sa.Column("first_week", sa.Date(), nullable=False),
        sa.Column("last_week", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("installation_id", name="pk_installation_spans"),
    )
    op.create_index("ix_installation_spans_first_week", "installation_spans", ["first_week"])
    op.create_index("ix_installation_spans_last_week", "installation_spans", ["last_week"])
    op.create_table(
        "rollup_state",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_rollup_state"),
    )
    op.create_index("ix_submissions_received_at", "submissions", ["received_at"])
    for name, select in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {select}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    op.drop_index("ix_submissions_received_at", table_name="submissions")
    op.drop_table("rollup_state")
    op.drop_index("ix_installation_spans_last_week", table_name="installation_spans")
    op.drop_index("ix_installation_spans_first_week", table_name="installation_spans")
    op.drop_table("installation_spans")
    for table in (
        "installation_week_errors",
        "installation_week_features",
        "installation_week_printers",
    ):
        op.drop_index(f"ix_{table}_week", table_name=table)
        op.drop_table(table)
    op.drop_index("ix_installation_weeks_submission_id", table_name="installation_weeks")
    op.drop_index("ix_installation_weeks_week", table_name="installation_weeks")
    op.drop_table("installation_weeks")
