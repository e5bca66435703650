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

from typing import Any

from sqlalchemy import JSON, Boolean, Table, TextClause, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from receiver.db.tables import (
    installations,
    rate_limits,
    submission_model_errors,
    submission_models,
    submissions,
)
from receiver.ingest.repository import LATEST_STATE_COLUMNS, PERIOD_KEY

# Column lists and types come from receiver/db/tables.py; only the parameters that are not a column of
# the same name are named here (`now` fills every received-at column, `period_end` the installation's
# last period end).
# The stored row's id is drawn before the insert: a row that keeps another id replaced an earlier
# copy of its period (`xmax`, the usual sign of an upsert's update, cannot be read from a partitioned
# table). The sequence is the one of `submissions.id` (bigserial, kept by migration 0009).
ID_SEQUENCE = f"{submissions.name}_id_seq"
_POSTGRES = postgresql.dialect()  # type: ignore[no-untyped-call]
_PARAMETER_OF_COLUMN = {
    "first_received_at": "now",
    "last_received_at": "now",
    "received_at": "now",
    "last_period_end": "period_end",
}
_OTHER_PARAMETERS: dict[str, TypeEngine[Any]] = {
    "now": submissions.c.received_at.type,
    "week": submission_models.c.week.type,
    "model_usage": JSON(),
    "model_errors": JSON(),
    "window_start": rate_limits.c.window_start.type,
    "limit": rate_limits.c.count.type,
    "may_create": Boolean(),
}


def _sql_type(type_: TypeEngine[Any]) -> str:
    """The PostgreSQL type of a column, without a length (a CAST to varchar(n) would truncate)."""
    return type_.compile(dialect=_POSTGRES).split("(", 1)[0].lower()


def _type_of(parameter: str) -> str:
    if parameter in _OTHER_PARAMETERS:
        return _sql_type(_OTHER_PARAMETERS[parameter])
    for table in (submissions, installations):
        if parameter in table.c:
            return _sql_type(table.c[parameter].type)
    raise KeyError(f"no type for parameter {parameter!r}")


def _param(name: str) -> str:
    return f"CAST(:{name} AS {_type_of(name)})"


def _values(table: Table) -> tuple[str, str]:
    """Every column of `table` but a generated id, and the parameter for each."""
    columns = [
        column.name
        for column in table.c
        if not (column.primary_key and column.autoincrement is True)
    ]
    parameters = [_PARAMETER_OF_COLUMN.get(name, name) for name in columns]
    return ", ".join(columns), ", ".join(_param(parameter) for parameter in parameters)


def _installation_values() -> tuple[str, str]:
    return _values(installations)


def _submission_values() -> tuple[str, str]:
    return _values(submissions)


def _breakdown(
    table: Table, parameter: str, keys: tuple[str, ...]
) -> tuple[str, str, tuple[str, ...], dict[str, str]]:
    values = {
        column.name: _sql_type(column.type)
        for column in table.c
        if column.name not in ("submission_id", "week", *keys)
    }
    return table.name, parameter, keys, values


# (table, JSON parameter, key columns, value columns with their types)
_BREAKDOWNS = (
    _breakdown(submission_models, "model_usage", ("family", "model")),
    _breakdown(submission_model_errors, "model_errors", ("family", "model", "code")),
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
        if name not in PERIOD_KEY
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
fresh_id AS (
    SELECT nextval('{ID_SEQUENCE}') AS id
),
stored AS (
    INSERT INTO submissions (id, {submission_columns})
    SELECT fresh_id.id, {submission_values} FROM claimed CROSS JOIN fresh_id
    ON CONFLICT ({", ".join(PERIOD_KEY)}) DO UPDATE SET {replaced}
    RETURNING id
),{",".join(_breakdown_steps(*breakdown) for breakdown in _BREAKDOWNS)}
SELECT (SELECT ok FROM owner) AS owner_ok,
       (SELECT known FROM owner) AS known,
       EXISTS (SELECT 1 FROM counted) AS counted,
       EXISTS (SELECT 1 FROM stored) AS stored,
       COALESCE((SELECT stored.id <> fresh_id.id FROM stored CROSS JOIN fresh_id), false)
           AS replaced
"""  # noqa: S608 (only column names are interpolated; values are bound parameters)
    )


INGEST_STATEMENT = build_ingest_statement()
