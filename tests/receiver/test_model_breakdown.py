"""Schema 1.1 per-model breakdown over HTTP: stored, replaced (never doubled), refused whole, erased."""

import copy
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, DateTime, bindparam, inspect, text

from receiver.db.engine import create_engine
from receiver.db.schema_version import alembic_config
from receiver.db.transactions import Database
from receiver.retention import purge
from tests.payloads import load_payloads
from tests.receiver.conftest import Api, assert_error, count, query

VALID = load_payloads("valid")
INVALID = load_payloads("invalid")
FARM = VALID["integration-1.1-breakdown-farm"]
OLD_11 = VALID["integration-0.1.0-without-breakdown"]
SECRET = "s" * 43
BREAKDOWN_TABLES = ("submission_models", "submission_model_errors")
MODEL_ROWS = (
    "SELECT family, model, week, printers, active_printers, jobs_started, jobs_completed, "
    "jobs_failed, jobs_cancelled, jobs_ended_without_outcome, print_centihours, "
    "paused_centihours, filament_cm FROM submission_models ORDER BY family, model"
)
ERROR_ROWS = "SELECT family, model, code, count FROM submission_model_errors ORDER BY code"

# Each breakdown fixture breaks exactly one rule; its 400 names the field of that rule.
REFUSED_FIELD = {
    "breakdown-duplicate-model": "$.usage_by_model[2]",
    "breakdown-duplicate-error-code": "$.errors_by_model[2]",
    "breakdown-sum-above-fleet-total": "$.usage_by_model[*].jobs_failed",
    "breakdown-print-hours-above-fleet-total": "$.usage_by_model[*].print_hours",
    "breakdown-count-above-cap": "$.usage_by_model[0].jobs_started",
    "breakdown-errors-above-total-errors": "$.errors_by_model[*].count",
}


def farm(installation_id: str | None = None) -> dict[str, Any]:
    payload = copy.deepcopy(FARM)
    if installation_id is not None:
        payload["installation"]["installation_id"] = installation_id
    return payload


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def model_rows(database_url: str) -> list[tuple[Any, ...]]:
    rows = await query(database_url, MODEL_ROWS)
    return [(*row[:2], as_date(row[2]), *row[3:]) for row in rows]


async def breakdown_counts(database_url: str) -> tuple[int, int]:
    return (
        await count(database_url, "submission_models"),
        await count(database_url, "submission_model_errors"),
    )


async def test_breakdown_is_stored_as_rows(api: Api, database_url: str) -> None:
    assert api.submit(farm(), secret=SECRET, compress=True).status_code == 200
    week = date(2026, 11, 9)
    assert await model_rows(database_url) == [
        ("bambu_lab", "X1C", week, 2, 2, 24, 19, 3, 1, 1, 13125, 250, 41280),
        ("prusa", "unknown", week, 2, 1, 12, 10, 1, 1, 0, 5840, 975, None),
    ]
    assert await query(database_url, ERROR_ROWS) == [
        ("bambu_lab", "X1C", "0300_0100_0001_0001", 3),
        ("bambu_lab", "X1C", "0500_0200_0002_0001", 1),
    ]
    columns = await query(
        database_url,
        "SELECT jobs_ended_without_outcome, paused_hours, filament_m, active_printers "
        "FROM submissions",
    )
    assert columns == [(1, 12.25, 412.8, 3)]


async def test_a_resend_replaces_the_breakdown_and_never_doubles_it(
    api: Api, database_url: str
) -> None:
    first = farm()
    for _ in range(3):  # identical re-sends: still one copy
        assert api.submit(first, secret=SECRET).status_code == 200
    assert await breakdown_counts(database_url) == (2, 2)

    changed = farm()
    changed["usage_by_model"] = [changed["usage_by_model"][0]]  # the Prusa bucket is gone
    changed["usage_by_model"][0]["jobs_completed"] = 18
    changed["errors_by_model"] = [
        {"family": "bambu_lab", "model": "X1C", "code": "0700_0100_0001_0002", "count": 2}
    ]
    assert api.submit(changed, secret=SECRET).status_code == 200
    rows = await model_rows(database_url)
    assert [(row[0], row[1], row[6]) for row in rows] == [("bambu_lab", "X1C", 18)]
    assert await query(database_url, ERROR_ROWS) == [("bambu_lab", "X1C", "0700_0100_0001_0002", 2)]

    # the same period re-sent without a breakdown (an older builder) leaves none behind
    without = copy.deepcopy(changed)
    del without["usage_by_model"], without["errors_by_model"]
    assert api.submit(without, secret=SECRET).status_code == 200
    assert await breakdown_counts(database_url) == (0, 0)
    assert await count(database_url, "submissions") == 1

    assert api.submit(first, secret=SECRET).status_code == 200
    assert await breakdown_counts(database_url) == (2, 2)


async def test_refused_breakdowns_store_nothing(api: Api, database_url: str) -> None:
    assert set(REFUSED_FIELD) == {name for name in INVALID if name.startswith("breakdown-")}
    for name, field in REFUSED_FIELD.items():
        error = assert_error(api.submit(INVALID[name], secret=SECRET), 400, "invalid_payload")
        assert error["details"][0]["field"] == field, (name, error)
    for table in ("submissions", "installations", "rate_limits", *BREAKDOWN_TABLES):
        assert await count(database_url, table) == 0, table


async def test_a_refused_resend_keeps_the_stored_breakdown(api: Api, database_url: str) -> None:
    assert api.submit(farm(), secret=SECRET).status_code == 200
    before = await model_rows(database_url)
    broken = farm()
    broken["usage_by_model"][0]["jobs_completed"] = 30  # 30 + 10 > 29 completed in the fleet
    error = assert_error(api.submit(broken, secret=SECRET), 400, "invalid_payload")
    assert "jobs_completed" in error["message"]
    assert await model_rows(database_url) == before
    assert await count(database_url, "submission_model_errors") == 2


async def test_an_old_1_1_body_without_breakdown_is_stored(api: Api, database_url: str) -> None:
    assert "usage_by_model" not in OLD_11
    assert api.submit(OLD_11, compress=True).status_code == 200
    assert await count(database_url, "submissions") == 1
    assert await breakdown_counts(database_url) == (0, 0)
    columns = await query(
        database_url,
        "SELECT jobs_ended_without_outcome, paused_hours, filament_m, active_printers "
        "FROM submissions",
    )
    assert columns == [(None, None, None, None)]


async def test_gdpr_deletion_erases_the_breakdown(api: Api, database_url: str) -> None:
    erased, kept = str(uuid.uuid4()), str(uuid.uuid4())
    for installation_id in (erased, kept):
        assert api.submit(farm(installation_id), secret=SECRET).status_code == 200
    earlier = farm(erased)
    earlier["period"] = {
        "start": "2026-11-02T00:00:00Z",
        "end": "2026-11-09T00:00:00Z",
        "duration_days": 7,
    }
    assert api.submit(earlier, secret=SECRET).status_code == 200
    assert await breakdown_counts(database_url) == (6, 6)
    response = api.delete(erased, secret=SECRET)
    assert response.json()["deleted_submissions"] == 2
    assert await breakdown_counts(database_url) == (2, 2)
    owners = await query(
        database_url,
        "SELECT DISTINCT s.installation_id FROM submission_models m "
        "JOIN submissions s ON s.id = m.submission_id",
    )
    assert owners == [(kept,)]


async def test_purge_erases_the_breakdown_of_expired_submissions(
    api: Api, database_url: str
) -> None:
    assert api.submit(farm(), secret=SECRET).status_code == 200
    engine = create_engine(database_url)
    try:
        later = datetime(2026, 11, 16, tzinfo=UTC) + timedelta(days=731)
        result = await purge(Database(engine), 730, now=later)
    finally:
        await engine.dispose()
    assert result.submissions == 1
    assert await breakdown_counts(database_url) == (0, 0)


def test_the_fixture_breakdown_adds_up_to_the_fleet_totals() -> None:
    """The valid fixture is what the integration will send: its breakdown sums are its totals."""
    totals = FARM["usage_stats"]
    items = FARM["usage_by_model"]
    for name in ("jobs_started", "jobs_completed", "jobs_failed", "jobs_cancelled"):
        assert sum(item[name] for item in items) == totals[name], name
    assert sum(item["print_hours"] for item in items) == pytest.approx(totals["print_hours"])
    assert (
        sum(e["count"] for e in FARM["errors_by_model"]) == (FARM["error_summary"]["total_errors"])
    )


def _migrate(connection: Connection, direction: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, direction)(config, revision)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


@pytest.mark.empty_database
async def test_migration_0002_keeps_stored_data_both_ways(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "upgrade", "0001_initial")
            await connection.execute(
                text(
                    "INSERT INTO submissions (installation_id, period_start, period_end, "
                    "received_at, schema_version, country_code, deployment_mode, printer_count, "
                    "job_count, aggregate) VALUES (:id, :start, :end, :end, '1.1', 'DE', 'haos', "
                    "2, 5, '{}')"
                ).bindparams(
                    bindparam("start", type_=DateTime(timezone=True)),
                    bindparam("end", type_=DateTime(timezone=True)),
                ),
                {
                    "id": str(uuid.uuid4()),
                    "start": datetime(2026, 11, 2, tzinfo=UTC),
                    "end": datetime(2026, 11, 9, tzinfo=UTC),
                },
            )
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "upgrade", "0002")
            assert set(BREAKDOWN_TABLES) <= await connection.run_sync(_tables)
            rows = await connection.execute(
                text("SELECT job_count, paused_hours, active_printers FROM submissions")
            )
            assert [tuple(row) for row in rows] == [(5, None, None)]
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "downgrade", "0001_initial")
            assert not set(BREAKDOWN_TABLES) & await connection.run_sync(_tables)
            rows = await connection.execute(text("SELECT job_count FROM submissions"))
            assert [tuple(row) for row in rows] == [(5,)]
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "upgrade", "head")
    finally:
        await engine.dispose()
