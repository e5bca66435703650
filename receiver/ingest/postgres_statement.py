"""PostgreSQL: the whole ingest (ownership, rate limit, latest state, submission, per-model breakdown)
in ONE statement.

Data-modifying CTEs chain the steps: each INSERT selects from the previous step's RETURNING, so a step that
refuses (wrong secret, a new installation over the address's daily cap, full rate-limit window) stops the
ones after it. The answer is the `Outcome` of rules.py. Executed by postgres_writer.py, grouped with others
in one implicit transaction. SQLite cannot modify data in CTEs and uses the
transaction in repository.py; both give the same answers (the tests run on both).

The breakdown arrives as two JSON arrays (`model_usage`, `model_errors`) and replaces the submission's rows:
rows whose key is no longer sent are deleted, the others upserted. The two sets are disjoint, so no row is
touched twice by the statement (all its CTEs see one snapshot). Two *simultaneous* re-sends of one period
with different model sets could leave a row of the other; clients send a period one at a time.
"""

from sqlalchemy import TextClause, text

from receiver.ingest.repository import LATEST_STATE_COLUMNS, NEW_USAGE_COLUMNS

_TYPES = {
    "installation_id": "varchar",
    "secret_hash": "varchar",
    "now": "timestamptz",
    "period_start": "timestamptz",
    "period_end": "timestamptz",
    "schema_version": "varchar",
    "app_version": "varchar",
    "integration_version": "varchar",
    "ha_version": "varchar",
    "platform": "varchar",
    "deployment_mode": "varchar",
    "country_code": "varchar",
    "data_source": "varchar",
    "printer_count": "integer",
    "job_count": "integer",
    "jobs_ended_without_outcome": "integer",
    "paused_hours": "double precision",
    "filament_m": "double precision",
    "active_printers": "integer",
    "printer_type_counts": "json",
    "aggregate": "json",
    "week": "date",
    "week_start": "date",
    "model_usage": "json",
    "model_errors": "json",
    "window_start": "bigint",
    "limit": "integer",
    "may_create": "boolean",
}


def _param(name: str) -> str:
    return f"CAST(:{name} AS {_TYPES[name]})"


def _installation_values() -> tuple[str, str]:
    columns = {
        "installation_id": "installation_id",
        "secret_hash": "secret_hash",
        "first_received_at": "now",
        "last_received_at": "now",
        "last_period_end": "period_end",
        **{name: name for name in LATEST_STATE_COLUMNS},
    }
    return ", ".join(columns), ", ".join(_param(param) for param in columns.values())


def _submission_values() -> tuple[str, str]:
    columns = {
        "installation_id": "installation_id",
        "period_start": "period_start",
        "period_end": "period_end",
        "week_start": "week_start",
        "received_at": "now",
        "schema_version": "schema_version",
        "country_code": "country_code",
        "deployment_mode": "deployment_mode",
        "data_source": "data_source",
        "printer_count": "printer_count",
        "job_count": "job_count",
        "aggregate": "aggregate",
        **{name: name for name in NEW_USAGE_COLUMNS},
    }
    return ", ".join(columns), ", ".join(_param(param) for param in columns.values())


# (table, JSON parameter, key columns, value columns with their types)
_BREAKDOWNS = (
    (
        "submission_models",
        "model_usage",
        ("family", "model"),
        {
            "printers": "integer",
            "active_printers": "integer",
            "jobs_started": "integer",
            "jobs_completed": "integer",
            "jobs_failed": "integer",
            "jobs_cancelled": "integer",
            "jobs_ended_without_outcome": "integer",
            "print_centihours": "integer",
            "paused_centihours": "integer",
            "filament_cm": "integer",
        },
    ),
    ("submission_model_errors", "model_errors", ("family", "model", "code"), {"count": "integer"}),
)


def _breakdown_steps(
    table: str, parameter: str, keys: tuple[str, ...], values: dict[str, str]
) -> str:
    """CTEs that make `table`'s rows of the stored submission exactly the sent JSON array."""
    record = ", ".join(
        [*(f"{key} varchar" for key in keys), *(f"{n} {t}" for n, t in values.items())]
    )
    same_key = " AND ".join(f"sent.{key} = old.{key}" for key in keys)
    columns = ", ".join([*keys, *values])
    sent_columns = ", ".join(f"sent.{name}" for name in [*keys, *values])
    updated = ", ".join(f"{name} = excluded.{name}" for name in ("week", *values))
    return f"""
{table}_sent AS (
    SELECT * FROM json_to_recordset({_param(parameter)}) AS sent({record})
),
{table}_gone AS (
    DELETE FROM {table} AS old USING stored
    WHERE old.submission_id = stored.id
      AND NOT EXISTS (SELECT 1 FROM {table}_sent AS sent WHERE {same_key})
),
{table}_kept AS (
    INSERT INTO {table} (submission_id, week, {columns})
    SELECT stored.id, {_param("week")}, {sent_columns} FROM stored CROSS JOIN {table}_sent AS sent
    ON CONFLICT (submission_id, {", ".join(keys)}) DO UPDATE SET {updated}
)"""  # noqa: S608 (only names are interpolated; values are bound parameters)


def build_ingest_statement() -> TextClause:
    installation_columns, installation_values = _installation_values()
    latest = ",\n        ".join(
        f"{name} = CASE WHEN excluded.last_period_end >= i.last_period_end "
        f"THEN excluded.{name} ELSE i.{name} END"
        for name in (*LATEST_STATE_COLUMNS, "last_period_end")
    )
    submission_columns, submission_values = _submission_values()
    replaced = ", ".join(
        f"{name} = excluded.{name}"
        for name in submission_columns.split(", ")
        if name not in ("installation_id", "period_start", "period_end")
    )
    return text(
        f"""
WITH owner AS (
    SELECT COALESCE(
               bool_and(secret_hash IS NULL
                        OR secret_hash IS NOT DISTINCT FROM {_param("secret_hash")}),
               true) AS ok,
           count(*) > 0 AS known
    FROM installations WHERE installation_id = {_param("installation_id")}
),
counted AS (
    INSERT INTO rate_limits AS r (installation_id, window_start, count)
    SELECT {_param("installation_id")}, {_param("window_start")}, 1 FROM owner
    WHERE owner.ok AND (owner.known OR {_param("may_create")})
    ON CONFLICT (installation_id) DO UPDATE
    SET count = CASE WHEN r.window_start = excluded.window_start THEN r.count + 1 ELSE 1 END,
        window_start = excluded.window_start
    WHERE r.window_start <> excluded.window_start OR r.count < {_param("limit")}
    RETURNING 1
),
claimed AS (
    INSERT INTO installations AS i ({installation_columns})
    SELECT {installation_values} FROM counted
    ON CONFLICT (installation_id) DO UPDATE
    SET secret_hash = COALESCE(i.secret_hash, excluded.secret_hash),
        last_received_at = excluded.last_received_at,
        {latest}
    WHERE i.secret_hash IS NULL OR i.secret_hash = excluded.secret_hash
    RETURNING 1
),
stored AS (
    INSERT INTO submissions ({submission_columns})
    SELECT {submission_values} FROM claimed
    ON CONFLICT (installation_id, period_start, period_end) DO UPDATE SET {replaced}
    RETURNING id, xmax <> 0 AS replaced
),{",".join(_breakdown_steps(*breakdown) for breakdown in _BREAKDOWNS)}
SELECT (SELECT ok FROM owner) AS owner_ok,
       (SELECT known FROM owner) AS known,
       EXISTS (SELECT 1 FROM counted) AS counted,
       EXISTS (SELECT 1 FROM stored) AS stored,
       COALESCE((SELECT replaced FROM stored), false) AS replaced
"""  # noqa: S608 (only column names are interpolated; values are bound parameters)
    )


INGEST_STATEMENT = build_ingest_statement()
