"""GET /stats/export: stored submissions as JSON Lines, for admin keys only."""

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from receiver.db.tables import submissions
from tests.payloads import load_payloads
from tests.postgres import set_connections_allowed
from tests.receiver.conftest import (
    ADMIN_KEY,
    SUBMIT_KEY,
    Api,
    assert_error,
    query,
    server_env,
)
from tests.receiver_server import run_receiver

VALID = load_payloads("valid")
WEEKS = ("2026-10-26", "2026-11-02", "2026-11-09")
FIXTURES = ("printernizer-1.0-example", "integration-1.1-farm", "future-1.4-extra-fields")


def export(api: Api, key: str | None = ADMIN_KEY, **params: str) -> httpx.Response:
    headers = {} if key is None else {"X-API-Key": key}
    return api.http.get(f"{api.url}/stats/export", headers=headers, params=params)


def lines(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def in_week(name: str, week: str, installation_id: str) -> dict[str, Any]:
    payload = copy.deepcopy(VALID[name])
    start = datetime.fromisoformat(week).replace(tzinfo=UTC)
    payload["installation"]["installation_id"] = installation_id
    payload["period"]["start"] = start.isoformat()
    payload["period"]["end"] = (start + timedelta(days=7)).isoformat()
    return payload


def submit_three_weeks(api: Api) -> list[str]:
    """One fixture payload per week, each from its own installation; returns their ids."""
    ids = [str(uuid.uuid4()) for _ in WEEKS]
    for name, week, installation_id in zip(FIXTURES, WEEKS, ids, strict=True):
        response = api.submit(in_week(name, week, installation_id), secret="s" * 32)
        assert response.status_code == 200, response.text
    return ids


def as_utc(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


async def test_export_returns_exactly_what_was_stored(api: Api, database_url: str) -> None:
    ids = submit_three_weeks(api)
    exported = lines(export(api))
    stored = await query(
        database_url,
        "SELECT installation_id, period_start, period_end, received_at, schema_version, "
        "country_code, deployment_mode, data_source, printer_count, job_count, aggregate "
        "FROM submissions ORDER BY id",
    )
    assert [line["installation_id"] for line in exported] == ids
    assert len(stored) == len(exported) == 3
    for line, row in zip(exported, stored, strict=True):
        assert "secret_hash" not in line
        assert set(line) == {
            "installation_id", "period_start", "period_end", "received_at", "schema_version",
            "country_code", "deployment_mode", "data_source", "printer_count", "job_count",
            "aggregate",
        }  # fmt: skip
        assert line["installation_id"] == row[0]
        for index, name in ((1, "period_start"), (2, "period_end"), (3, "received_at")):
            assert as_utc(line[name]) == as_utc(row[index])
        assert [line[name] for name in ("schema_version", "country_code", "deployment_mode")] == [
            row[4],
            row[5],
            row[6],
        ]
        assert (line["data_source"], line["printer_count"], line["job_count"]) == row[7:10]
        assert line["aggregate"] == (json.loads(row[10]) if isinstance(row[10], str) else row[10])
    for line, name, week in zip(exported, FIXTURES, WEEKS, strict=True):
        payload = VALID[name]
        assert as_utc(line["period_start"]) == datetime.fromisoformat(week).replace(tzinfo=UTC)
        assert line["country_code"] == payload["installation"]["country_code"]
        assert line["printer_count"] == payload["printer_fleet"]["printer_count"]
        assert line["job_count"] == payload["usage_stats"]["job_count"]
        assert line["aggregate"]["usage_stats"]["job_count"] == payload["usage_stats"]["job_count"]
    assert [line["schema_version"] for line in exported] == ["1.0", "1.1", "1.1"]
    # unknown extra fields of the 1.4 payload were never stored, so they are not exported
    assert "future_section" not in exported[2]["aggregate"]
    assert "some_future_field" not in exported[2]["aggregate"]["installation"]


async def test_export_of_an_empty_database_is_empty(api: Api) -> None:
    assert lines(export(api)) == []


@pytest.mark.parametrize(
    ("params", "weeks"),
    [
        ({"since": "2026-11-02"}, WEEKS[1:]),
        ({"until": "2026-11-02"}, WEEKS[:2]),
        ({"since": "2026-11-02", "until": "2026-11-02"}, WEEKS[1:2]),
        ({"since": "2026-10-27", "until": "2026-11-08"}, WEEKS[1:2]),
        ({"since": "2026-11-10"}, ()),
        ({"limit": "2"}, WEEKS[:2]),
        ({"since": "2026-10-27", "limit": "1"}, WEEKS[1:2]),
    ],
)
async def test_export_filters_by_period_start_and_limits(
    api: Api, params: dict[str, str], weeks: tuple[str, ...]
) -> None:
    submit_three_weeks(api)
    exported = lines(export(api, **params))
    assert [line["period_start"][:10] for line in exported] == list(weeks)


async def test_export_streams_past_one_page_and_stops_at_the_limit(
    api: Api, database_url: str
) -> None:
    start = datetime(2026, 11, 9, tzinfo=UTC)
    rows = [
        {
            "installation_id": str(uuid.uuid4()),
            "period_start": start,
            "period_end": start + timedelta(days=7),
            "week_start": start.date(),
            "received_at": start + timedelta(days=8),
            "schema_version": "1.0",
            "country_code": "DE",
            "deployment_mode": "standalone",
            "data_source": None,
            "printer_count": 1,
            "job_count": number,
            "aggregate": {"n": number},
        }
        for number in range(2500)
    ]
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(submissions), rows)
    finally:
        await engine.dispose()
    everything = lines(export(api))
    assert [line["job_count"] for line in everything] == list(range(2500))
    assert [line["installation_id"] for line in everything] == [
        row["installation_id"] for row in rows
    ]
    limited = lines(export(api, limit="2001"))
    assert [line["job_count"] for line in limited] == list(range(2001))


def test_export_needs_an_admin_key(api: Api) -> None:
    assert_error(export(api, key=SUBMIT_KEY), 403, "forbidden")
    assert_error(export(api, key=None), 401, "missing_api_key")
    assert_error(export(api, key="not-a-key"), 401, "unknown_api_key")


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"since": "2026-11-31"},
        {"until": "2026-13-01"},
        {"until": ""},
        {"since": "2026-11-09", "until": "2026-11-02"},
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "100001"},
        {"limit": "ten"},
        {"limit": "1.5"},
        {"limit": "1" * 5000},
        {"limit": "\u0661\u0660"},
    ],
)
def test_bad_export_parameters_are_refused(api: Api, params: dict[str, str]) -> None:
    error = assert_error(export(api, **params), 400, "invalid_parameter")
    assert error["details"][0]["field"].startswith("query.")


def test_the_largest_limit_is_accepted(api: Api) -> None:
    assert lines(export(api, limit="100000")) == []


@pytest.mark.postgres
async def test_export_answers_503_while_the_database_is_down(
    tmp_path: Path, postgres_url: str
) -> None:
    with (
        run_receiver(postgres_url, tmp_path, server_env()) as receiver,
        httpx.Client(timeout=30) as http,
    ):
        api = Api(receiver, http)
        submit_three_weeks(api)
        await set_connections_allowed(postgres_url, allowed=False)
        try:
            response = export(api)
            assert_error(response, 503, "database_unavailable")
            assert int(response.headers["Retry-After"]) > 0
        finally:
            await set_connections_allowed(postgres_url, allowed=True)
        assert len(lines(export(api))) == 3
