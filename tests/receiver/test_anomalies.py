"""Anomaly detection: it fires on planted anomalies (a drop in active installations, an error-rate
spike, a submission surge, a version failing far more than the one before) and stays silent on normal
weekly noise — on the detector with many random series, and end to end through the API."""

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from receiver.analytics.anomalies import anomalies_answer, version_anomalies
from receiver.analytics.week_window import WeekWindow
from tests.receiver.analytics_world import (
    ENV,
    WEEK,
    Installation,
    World,
    at_midnight,
    payload_10,
    payload_11,
    submit_all,
    this_monday,
)
from tests.receiver.conftest import ADMIN_KEY, app_client

UNTIL = date(2026, 11, 9)
NOW = datetime(2026, 11, 26, tzinfo=UTC)
WEEKS = 16


def mondays(weeks: int = WEEKS + 8) -> list[date]:
    return [UNTIL - (weeks - 1 - index) * WEEK for index in range(weeks)]


def noisy_inputs(rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Weekly series as a healthy project has them: a slowly growing population with a few percent
    of week-to-week noise, errors and submissions following it."""
    active, errors, submissions = [], [], []
    population = rng.randint(80, 3000)
    growth = rng.uniform(-0.005, 0.02)
    for index, monday in enumerate(mondays()):
        expected = population * (1 + growth) ** index
        count = max(1, round(rng.gauss(expected, expected * 0.03 + 2)))
        rate = rng.uniform(1.5, 1.7)
        active.append({"week": monday, "active": count})
        errors.append(
            {"week": monday, "errors": round(rng.gauss(count * rate, (count * rate) ** 0.5 * 2))}
        )
        submissions.append({"week": monday, "submissions": round(count * rng.uniform(1.25, 1.35))})
    return {"active": active, "errors": errors, "submissions": submissions, "versions": []}


def kinds(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(entry["kind"], entry["week"]) for entry in answer["anomalies"]]


def test_normal_weekly_noise_stays_silent() -> None:
    window = WeekWindow(UNTIL, WEEKS)
    fired = []
    for seed in range(300):
        found = kinds(anomalies_answer(window, NOW, noisy_inputs(random.Random(seed))))
        fired += found
    assert fired == []


@pytest.mark.parametrize("seed", range(20))
def test_each_planted_anomaly_fires_in_its_week(seed: int) -> None:
    rng = random.Random(seed)
    inputs = noisy_inputs(rng)
    planted = mondays()[-4]
    for row in inputs["active"]:
        if row["week"] == planted:
            row["active"] = round(row["active"] * 0.6)  # 40 % fewer installations reported
    spiked = mondays()[-6]
    for row in inputs["errors"]:
        if row["week"] == spiked:
            row["errors"] *= 3
    surged = mondays()[-2]
    for row in inputs["submissions"]:
        if row["week"] == surged:
            row["submissions"] *= 4
    found = anomalies_answer(WeekWindow(UNTIL, WEEKS), NOW, inputs)
    assert ("active_drop", iso(planted)) in kinds(found)
    assert ("error_rate_spike", iso(spiked)) in kinds(found)
    assert ("submission_surge", iso(surged)) in kinds(found)
    # the drop week also shows more errors per installation only if errors did not drop as well
    assert {kind for kind, _ in kinds(found)} <= {
        "active_drop",
        "error_rate_spike",
        "submission_surge",
    }
    for entry in found["anomalies"]:
        assert entry["severity"] in ("warning", "critical")
        assert entry["score"] >= entry["threshold"]
        assert entry["explanation"].endswith(").") or entry["explanation"].endswith(".")
        assert len(entry["details"]["history"]) >= 4


def iso(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def test_a_version_failing_far_more_than_the_one_before_fires_with_its_numbers() -> None:
    rows = [
        {
            "product": "integration",
            "app_version": "0.2.0",
            "completed": 900,
            "failed": 60,
            "cancelled": 40,
        },
        {
            "product": "integration",
            "app_version": "0.10.0",
            "completed": 140,
            "failed": 50,
            "cancelled": 10,
        },
        {
            "product": "integration",
            "app_version": "0.9.0",
            "completed": 5,
            "failed": 5,
            "cancelled": 0,
        },
        {
            "product": "printernizer",
            "app_version": "2.41.0",
            "completed": 500,
            "failed": 50,
            "cancelled": 0,
        },
        {
            "product": "printernizer",
            "app_version": "2.42.0",
            "completed": 480,
            "failed": 55,
            "cancelled": 5,
        },
    ]
    (found,) = version_anomalies("2026-W46", rows)
    assert found["subject"] == "integration 0.10.0"
    assert found["details"] == {
        "jobs": 200,
        "failed": 50,
        "previous_version": "0.2.0",  # 0.9.0 has too few jobs to compare with
        "previous_jobs": 1000,
        "previous_failed": 60,
    }
    assert found["value"] == 0.25
    assert found["baseline"] == 0.06
    assert found["severity"] == "critical"
    assert "0.10.0" in found["explanation"]
    assert "0.2.0" in found["explanation"]


def test_a_small_or_similar_difference_between_versions_stays_silent() -> None:
    rng = random.Random(3)
    for _ in range(200):
        rate = rng.uniform(0.02, 0.3)
        rows = []
        for version in ("0.1.0", "0.2.0", "0.3.0"):
            jobs = rng.randint(30, 3000)
            failed = sum(rng.random() < rate for _ in range(jobs))
            rows.append(
                {
                    "product": "integration",
                    "app_version": version,
                    "completed": jobs - failed,
                    "failed": failed,
                    "cancelled": 0,
                }
            )
        assert version_anomalies("2026-W46", rows) == []


# ---------------------------------------------------------------------------------------------
# End to end: generated installations through the API, with and without planted anomalies

E2E_WEEKS = 14
LAST = this_monday() - WEEK
DROP_WEEK = LAST - 3 * WEEK  # settled whatever day the test runs
SPIKE_WEEK = LAST - 5 * WEEK
SURGE_WEEK = LAST - 7 * WEEK


def force_failures(payload: dict[str, Any], share: float) -> None:
    """Make `share` of each model's decided jobs failures (totals follow the breakdown)."""
    totals = dict.fromkeys(("jobs_completed", "jobs_failed", "jobs_cancelled"), 0)
    for item in payload["usage_by_model"]:
        decided = item["jobs_completed"] + item["jobs_failed"] + item["jobs_cancelled"]
        item["jobs_failed"] = round(decided * share)
        item["jobs_cancelled"] = 0
        item["jobs_completed"] = decided - item["jobs_failed"]
        for name in totals:
            totals[name] += item[name]
    payload["usage_stats"].update(totals)
    payload["usage_stats"]["job_count"] = totals["jobs_completed"] + totals["jobs_failed"]


def planted_world(plant: bool, seed: int = 11) -> World:
    rng = random.Random(seed)
    world = World()
    first = LAST - (E2E_WEEKS - 1) * WEEK
    for index in range(48):
        legacy = index >= 38
        who = Installation(
            installation_id=f"10000000-0000-4000-8000-{index:012d}",
            legacy=legacy,
            country="DE",
            mode="docker" if legacy else "haos",
            version=1 if legacy else 3,  # integration 0.2.0, printernizer 2.41.0
            fleet={("bambu_lab", "X1C"): 2} if not legacy else {("bambu_lab", "unknown"): 2},
            feature=False,
            first_week=0,
            last_week=E2E_WEEKS - 1,
        )
        for week in range(E2E_WEEKS):
            monday = first + week * WEEK
            if rng.random() < 0.04 or (plant and monday == DROP_WEEK and index % 2 == 0):
                continue
            if legacy:
                windows = 6 if plant and monday == SURGE_WEEK else 1
                for day in range(windows):
                    end = at_midnight(monday) + timedelta(days=1 + day, hours=rng.randint(1, 20))
                    world.sent.append((who.installation_id, payload_10(rng, who, end)))
                continue
            upgraded = index < 12 and monday >= LAST - 3 * WEEK
            who.version = 4 if upgraded else 3  # some move to 0.10.0 for the last 4 weeks
            payload = payload_11(rng, who, monday)
            share = 0.45 if plant and upgraded else 0.1
            force_failures(payload, share)
            if plant and monday == SPIKE_WEEK:
                payload["error_summary"]["total_errors"] *= 6
            world.sent.append((who.installation_id, payload))
    return world


@pytest.fixture
def receiver_url(database_url: str) -> Iterator[tuple[httpx.Client, str]]:
    """The app in process (relative URLs)."""
    with app_client(database_url, **ENV) as http:
        yield http, ""


def anomalies(http: httpx.Client, url: str) -> list[dict[str, Any]]:
    response = http.get(
        f"{url}/stats/anomalies",
        headers={"X-API-Key": ADMIN_KEY},
        params={"weeks": "8", "until_week": iso(LAST)},
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["anomalies"]
    return found


def test_the_api_is_silent_on_ordinary_data(receiver_url: tuple[httpx.Client, str]) -> None:
    http, url = receiver_url
    submit_all(http, url, planted_world(plant=False))
    assert anomalies(http, url) == []


def test_the_api_names_each_planted_anomaly(receiver_url: tuple[httpx.Client, str]) -> None:
    http, url = receiver_url
    submit_all(http, url, planted_world(plant=True))
    found = {(entry["kind"], entry["week"], entry["subject"]) for entry in anomalies(http, url)}
    expected = {
        ("active_drop", iso(DROP_WEEK), None),
        ("error_rate_spike", iso(SPIKE_WEEK), None),
        ("submission_surge", iso(SURGE_WEEK), None),
        ("version_failure_rate", iso(LAST), "integration 0.10.0"),
    }
    assert expected <= found
    # nothing else but the drop week's consequences (fewer installations: fewer submissions)
    assert found - expected <= set()
