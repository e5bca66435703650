"""The analytics endpoints over generated installations: every answer equals a brute-force
computation over the submissions sent (analytics_reference.py), on SQLite and on PostgreSQL."""

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import postgres_base_url
from tests.receiver.analytics_reference import Reference
from tests.receiver.analytics_world import (
    ENV,
    WEEK,
    World,
    erase_deleted,
    generate,
    submit_all,
    this_monday,
)
from tests.receiver.conftest import ADMIN_KEY, server_env
from tests.receiver.test_reliability import _nested_equal
from tests.receiver_server import run_receiver

SEED = 20261126
LAST_WEEK = this_monday() - WEEK
ENDPOINTS = {
    "installations": "installations",
    "versions": "versions",
    "deployment-modes": "deployment_modes",
    "countries": "countries",
    "printers": "printers",
    "features": "features",
    "jobs": "jobs",
    "errors": "errors",
}
RANGES = [(LAST_WEEK, 12), (LAST_WEEK, 22), (LAST_WEEK - 3 * WEEK, 1), (LAST_WEEK, 156)]


def iso(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class Seeded:
    http: httpx.Client
    url: str
    database_url: str
    world: World
    reference: Reference

    def get(self, path: str, **params: str) -> Any:
        response = self.http.get(
            f"{self.url}{path}", headers={"X-API-Key": ADMIN_KEY}, params=params
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    tmp = tmp_path_factory.mktemp("analytics")
    world = generate(SEED, installations=45, weeks=22)
    if request.param == "sqlite":
        yield from _seed(f"sqlite+aiosqlite:///{tmp / 'analytics.db'}", tmp, world)
        return
    base = postgres_base_url()
    if base is None:
        pytest.skip("PostgreSQL not configured: set PRINTERNIZER_TEST_POSTGRES_URL")
    from tests.postgres import temporary_database  # noqa: PLC0415

    with temporary_database(base, f"t_{uuid.uuid4().hex[:12]}") as url:
        yield from _seed(url, tmp, world)


def _seed(database_url: str, tmp: Path, world: World) -> Iterator[Seeded]:
    with (
        run_receiver(database_url, tmp, server_env(**ENV)) as receiver,
        httpx.Client(timeout=60) as http,
    ):
        submit_all(http, receiver.url, world)
        seeded = Seeded(
            http, receiver.url, database_url, world, Reference(world, datetime.now(UTC))
        )
        seeded.get("/stats/installations")  # the rollups now hold the installation erased next
        erase_deleted(http, receiver.url, world)
        yield seeded


def test_the_generated_world_covers_the_cases_that_matter() -> None:
    world = generate(SEED, installations=45, weeks=22)
    reference = Reference(world, datetime.now(UTC))
    stored = world.stored()
    assert len(world.sent) > len(stored) + len(world.deleted)  # some periods were re-sent
    assert len(reference.reports) > len(reference.counted)  # overlapping 1.0 windows in a week
    products = {report.product for report in reference.reports}
    assert products == {"integration", "printernizer"}
    assert any(
        "usage_by_model" not in r.payload for r in reference.reports if r.product == "integration"
    )
    assert any("total_errors" not in r.payload["error_summary"] for r in reference.reports)
    sizes = {r.payload["printer_fleet"]["printer_count"] for r in reference.reports}
    assert 0 in sizes
    assert max(sizes) >= 20
    assert world.deleted


@pytest.mark.parametrize(("until", "weeks"), RANGES, ids=str)
def test_every_endpoint_equals_the_brute_force_reference(
    seeded: Seeded, until: date, weeks: int
) -> None:
    for path, name in ENDPOINTS.items():
        got = seeded.get(f"/stats/{path}", until_week=iso(until), weeks=str(weeks))
        want = getattr(seeded.reference, name)(until, weeks)
        assert _nested_equal(got, want), path
    # sanity: the figures are not all empty
    versions = seeded.get("/stats/versions", until_week=iso(until), weeks=str(weeks))
    assert versions["active_installations"] > 10
    assert versions["newest"] == {"integration": "0.10.0", "printernizer": "2.42.0"}


def test_the_overview_is_picked_from_the_other_answers(seeded: Seeded) -> None:
    params = {"until_week": iso(LAST_WEEK), "weeks": "12"}
    overview = seeded.get("/stats/overview", **params)
    reference = seeded.reference
    installations = reference.installations(LAST_WEEK, 12)
    series = installations["series"]
    jobs = reference.jobs(LAST_WEEK, 12)["totals"]
    errors = reference.errors(LAST_WEEK, 12)
    printers = reference.printers(LAST_WEEK, 12)
    anomalies = seeded.get("/stats/anomalies", **params)["anomalies"]
    want = {
        **reference.header(LAST_WEEK, 12),
        "installations": {
            "total": installations["total"],
            "active_7d": installations["active_7d"],
            "active_30d": installations["active_30d"],
            "active_last_week": series[-1]["active"],
            "active_previous_week": series[-2]["active"],
            "change": series[-1]["active"] - series[-2]["active"],
            "change_rate": (series[-1]["active"] - series[-2]["active"]) / series[-2]["active"],
        },
        "newest_versions": reference.versions(LAST_WEEK, 12)["newest"],
        "printers": {"total": printers["total"], "average": printers["average"]},
        "jobs": {
            name: jobs[name]
            for name in (
                "completed",
                "failed",
                "cancelled",
                "ended_without_outcome",
                "success_rate",
                "print_hours",
                "filament_m",
            )
        },
        "errors": {
            "total": errors["total"],
            "last_week": errors["last_week"],
            "previous_week": errors["previous_week"],
        },
        "anomalies": {
            "count": len(anomalies),
            "highest_severity": (
                "critical"
                if any(a["severity"] == "critical" for a in anomalies)
                else "warning"
                if anomalies
                else None
            ),
        },
    }
    assert _nested_equal(overview, want)
    assert overview["installations"]["active_7d"] > 0


def test_the_summary_equals_the_latest_states(seeded: Seeded) -> None:
    """GET /stats/summary (kept totals) equals a count over the latest-state table and submissions,
    after re-sent periods and the erasure."""
    import asyncio  # noqa: PLC0415
    import json  # noqa: PLC0415

    from tests.receiver.conftest import query  # noqa: PLC0415

    columns = "country_code, schema_version, deployment_mode, data_source, printer_count"
    rows = asyncio.run(
        query(seeded.database_url, f"SELECT {columns}, printer_type_counts FROM installations")
    )
    (stored,) = asyncio.run(query(seeded.database_url, "SELECT count(*) FROM submissions"))

    def by(index: int) -> dict[str, int]:
        found = Counter(str(row[index]) for row in rows if row[index] is not None)
        return dict(sorted(found.items()))

    types: Counter[str] = Counter()
    for row in rows:
        counts = row[5] if isinstance(row[5], dict) else json.loads(row[5])
        types.update(counts)
    assert seeded.get("/stats/summary") == {
        "installations": len(rows),
        "submissions": stored[0],
        "printers": sum(row[4] for row in rows),
        "installations_by_country": by(0),
        "installations_by_schema_version": by(1),
        "installations_by_deployment_mode": by(2),
        "installations_by_data_source": by(3),
        "printers_by_type": dict(sorted(types.items())),
    }
    assert len(rows) > 10


def test_the_erased_installation_left_no_rollup(seeded: Seeded) -> None:
    import asyncio  # noqa: PLC0415

    from tests.receiver.conftest import query  # noqa: PLC0415

    (erased,) = seeded.world.deleted
    for table in (
        "installation_weeks",
        "installation_week_printers",
        "installation_week_features",
        "installation_week_errors",
        "installation_spans",
    ):
        rows = asyncio.run(
            query(
                seeded.database_url,
                f"SELECT count(*) FROM {table} WHERE installation_id = :id",
                id=erased,
            )
        )
        assert rows == [(0,)], table


# ---------------------------------------------------------------------------------------------
# The reporting views (docs/receiver.md, "Reporting views"): the same numbers, in SQL


def view_rows(seeded: Seeded, sql: str) -> list[tuple[Any, ...]]:
    import asyncio  # noqa: PLC0415

    from tests.receiver.conftest import query  # noqa: PLC0415

    return [
        tuple(str(value) if isinstance(value, date) else value for value in row)
        for row in asyncio.run(query(seeded.database_url, sql))
    ]


def test_the_reporting_views_hold_the_same_weekly_numbers(seeded: Seeded) -> None:
    reference = seeded.reference
    weeks = sorted({week for _, week in reference.counted})
    first = Counter(min(w) for w in reference.weeks_of.values())
    last = Counter(max(w) for w in reference.weeks_of.values())
    assert sorted(view_rows(seeded, "SELECT * FROM report_weekly_active_installations")) == [
        (str(w), len(reference.in_week(w)), first[w], last[w]) for w in weeks
    ]

    def grouped(key: Any) -> list[tuple[Any, ...]]:
        counts = Counter((str(w), *key(r)) for w in weeks for r in reference.in_week(w))
        return sorted((*k, n) for k, n in counts.items())

    def sql(view: str, *columns: str) -> list[tuple[Any, ...]]:
        return sorted(view_rows(seeded, f"SELECT week, {', '.join(columns)} FROM {view}"))

    assert sql("report_weekly_versions", "product", "app_version", "installations") == grouped(
        lambda r: (r.product, r.version)
    )
    assert sql("report_weekly_deployment_modes", "deployment_mode", "installations") == grouped(
        lambda r: (r.payload["installation"]["deployment_mode"],)
    )
    assert sql("report_weekly_countries", "country_code", "installations") == grouped(
        lambda r: (r.payload["installation"]["country_code"],)
    )
    printers: dict[tuple[str, str, str], list[int]] = {}
    for w in weeks:
        for r in reference.in_week(w):
            for (family, model), n in r.printers().items():
                printers.setdefault((str(w), family, model), []).append(n)
    assert sql("report_weekly_printers", "family", "model", "installations", "printers") == sorted(
        (*k, len(ns), sum(ns)) for k, ns in printers.items()
    )
    features = Counter(
        (str(w), name)
        for w in weeks
        for r in reference.in_week(w)
        for name, on in r.stats["feature_usage"].items()
        if on is True
    )
    assert sql(
        "report_weekly_features", "feature", "installations", "active_installations"
    ) == sorted(
        (week, name, n, len(reference.in_week(date.fromisoformat(week))))
        for (week, name), n in features.items()
    )
    jobs = sql(
        "report_weekly_jobs", "reports", "completed", "failed", "print_hours", "legacy_job_count"
    )
    for week, reports, completed, failed, print_hours, legacy in jobs:
        expected = reference.jobs(date.fromisoformat(week), 1)
        totals = expected["totals"]
        assert (reports, completed or 0, failed or 0, legacy) == (
            totals["installation_weeks"],
            totals["completed"],
            totals["failed"],
            totals["legacy_job_count"],
        )
        assert float(print_hours or 0) == pytest.approx(totals["print_hours"])
    errors = {
        (week, kind, name): n
        for week, kind, name, n in sql("report_weekly_errors", "kind", "name", "errors")
    }
    for w in weeks:
        answer = reference.errors(w, 1)
        assert errors[str(w), "total", "total_errors"] == answer["total"]
        for entry in answer["by_type"]:
            assert errors[str(w), "type", entry["type"]] == entry["count"]
        for entry in answer["by_code"]:
            assert errors[str(w), "code", entry["code"]] == entry["count"]


# ---------------------------------------------------------------------------------------------
# Parameters and keys


@pytest.mark.parametrize("path", [*ENDPOINTS, "overview", "anomalies"])
def test_analytics_need_an_admin_key_and_bounded_parameters(seeded: Seeded, path: str) -> None:
    from tests.receiver.conftest import SUBMIT_KEY, assert_error  # noqa: PLC0415

    url = f"{seeded.url}/stats/{path}"
    assert_error(seeded.http.get(url), 401, "missing_api_key")
    assert_error(seeded.http.get(url, headers={"X-API-Key": "not-a-key-at-all"}), 401)
    assert_error(seeded.http.get(url, headers={"X-API-Key": SUBMIT_KEY}), 403, "forbidden")
    this_week = this_monday()
    for params in (
        {"weeks": "0"},
        {"weeks": "157"},
        {"weeks": "12.5"},
        {"weeks": "-3"},
        {"weeks": ""},
        {"until_week": iso(this_week + WEEK)},
        {"until_week": "1999-W52"},
        {"until_week": "2026-W54"},
        {"until_week": "last week"},
    ):
        response = seeded.http.get(url, headers={"X-API-Key": ADMIN_KEY}, params=params)
        error = assert_error(response, 400, "invalid_parameter")
        assert error["details"][0]["field"] == f"query.{next(iter(params))}"
    for params in ({"weeks": "1"}, {"weeks": "156"}, {"until_week": iso(this_week)}):
        assert seeded.get(f"/stats/{path}", **params)["weeks"] in (1, 12, 156)
