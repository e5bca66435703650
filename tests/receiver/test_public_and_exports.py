"""GET /public/stats (k-anonymity), GET /stats/export/aggregates (JSON, CSV) and GET /stats/export/raw
(pseudonymised installation ids)."""

import csv
import io
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from receiver.analytics.public import OTHER, K, merged_partition
from tests.receiver.analytics_world import (
    ENV,
    WEEK,
    Installation,
    World,
    payload_11,
    submit_all,
    this_monday,
)
from tests.receiver.conftest import ADMIN_KEY, SUBMIT_KEY, app_client, assert_error

LAST_WEEK = this_monday() - WEEK
# (country, mode, feature on?) per installation: DE 12, FR 6, LU 3, IS 1 — LU and IS are small
PEOPLE = (
    [("DE", "haos", index < 10) for index in range(12)]
    + [("FR", "container", False) for _ in range(6)]
    + [("LU", "-2+3", False) for _ in range(3)]
    + [("IS", "core", False)]
)


@dataclass
class Running:
    http: httpx.Client
    url: str
    world: World

    def get(self, path: str, key: str | None = ADMIN_KEY, **params: str) -> httpx.Response:
        headers = {} if key is None else {"X-API-Key": key}
        return self.http.get(f"{self.url}{path}", headers=headers, params=params)


def fleet_of(index: int) -> dict[tuple[str, str], int]:
    """bambu_lab: 15 owners (shown); prusa 4 and klipper 3 (too few); elegoo 19 of 22 (too few
    without it: 3)."""
    if index < 15:
        return {("bambu_lab", "X1C"): 1 + index % 3, ("elegoo", "Centauri Carbon"): 1}
    if index < 19:
        return {("prusa", "unknown"): 1, ("elegoo", "Centauri Carbon"): 1}
    return {("klipper", "unknown"): 1}


def small_world(people: list[tuple[str, str, bool]], weeks: int = 3) -> World:
    rng = random.Random(7)
    world = World()
    for index, (country, mode, feature) in enumerate(people):
        who = Installation(
            installation_id=f"00000000-0000-4000-8000-{index:012d}",
            legacy=False,
            country=country,
            mode=mode,
            version=index % 3,
            fleet=fleet_of(index),
            feature=feature,
            first_week=0,
            last_week=weeks - 1,
        )
        for week in range(weeks):
            monday = LAST_WEEK - (weeks - 1 - week) * WEEK
            world.sent.append((who.installation_id, payload_11(rng, who, monday)))
    return world


@pytest.fixture(scope="module")
def running(module_database_url: str) -> Iterator[Running]:
    """The app in process over one database seeded once per module (the tests only read)."""
    world = small_world(PEOPLE)
    env = {**ENV, "RECEIVER_EXPORT_PSEUDONYM_KEY": "a-stable-export-key-for-tests"}
    with app_client(module_database_url, **env) as http:
        submit_all(http, "", world)
        yield Running(http, "", world)


def test_public_stats_reveal_no_bucket_below_five(running: Running) -> None:
    response = running.get("/public/stats", key=None)
    assert response.status_code == 200, response.text
    public = response.json()
    assert public["k"] == K == 5
    assert public["active_installations"] == 22
    # LU (3) and IS (1) are below 5; with FR (6) merged in, "other" reaches 5 and reveals neither
    assert public["countries"] == [
        {"country": "DE", "installations": 12, "share": 12 / 22},
        {"country": OTHER, "installations": 10, "share": 10 / 22},
    ]
    assert [m["mode"] for m in public["deployment_modes"]] == ["haos", OTHER]
    for bucket in (*public["countries"], *public["deployment_modes"], *public["versions"]):
        assert bucket["installations"] >= 5
    # a yes/no split is shown only when both sides have 5: the feature (10 of 22) and bambu_lab
    # (15 of 22) are; prusa (4), klipper (3) and elegoo (19: only 3 without one) are not
    assert public["features"] == [{"feature": "printernizer_server", "adoption": 10 / 22}]
    assert public["printer_families"] == [
        {"family": "bambu_lab", "installations": 15, "share": 15 / 22}
    ]
    assert all(week["active"] in (None, 22) for week in public["series"])
    assert public["series"][-1]["active"] == 22
    body = response.text
    for hidden in ('"LU"', '"IS"', '"core"', '"-2+3"', "prusa", "klipper", "elegoo"):
        assert hidden not in body


def test_public_stats_show_nothing_below_five_installations(database_url: str) -> None:
    world = small_world(PEOPLE[:4])
    with app_client(database_url, **ENV) as http:
        submit_all(http, "", world)
        public = http.get("/public/stats").json()
    assert public["active_installations"] is None
    assert set(public) == {"k", "since_week", "until_week", "weeks", "active_installations"}


def test_public_stats_are_computed_once_a_minute_per_range(database_url: str) -> None:
    """Anyone may ask: a range's answer is kept for a minute, so a flood costs one computation."""
    with app_client(database_url, **ENV) as http:
        submit_all(http, "", small_world(PEOPLE[:6]))
        first = http.get("/public/stats").json()
        submit_all(http, "", small_world(PEOPLE))
        assert http.get("/public/stats").json() == first  # the minute has not passed
        other_range = http.get("/public/stats", params={"weeks": "13"}).json()
    assert first["active_installations"] == 6
    assert other_range["active_installations"] == len(PEOPLE)


def test_public_stats_bound_their_parameter(running: Running) -> None:
    for weeks in ("0", "157", "x", "-1"):
        assert_error(running.get("/public/stats", key=None, weeks=weeks), 400, "invalid_parameter")
    assert running.get("/public/stats", key=None, weeks="156").status_code == 200


@given(
    st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=12),
    st.integers(min_value=1, max_value=8),
)
def test_a_merged_partition_never_shows_a_small_bucket(sizes: list[int], k: int) -> None:
    total = sum(sizes)
    entries = [{"country": f"C{index}", "installations": n} for index, n in enumerate(sizes)]
    shown = merged_partition(entries, ("country",), total, k)
    if total < k:
        return  # the endpoint shows nothing at all then
    assert all(entry["installations"] >= k for entry in shown)
    assert sum(entry["installations"] for entry in shown) == total  # nothing left to subtract
    listed = [entry for entry in shown if entry["country"] != OTHER]
    assert all(entry["installations"] in sizes for entry in listed)


def test_aggregates_export_as_json_and_csv_equals_the_endpoints(running: Running) -> None:
    params = {"weeks": "3"}
    exported = running.get("/stats/export/aggregates", **params)
    assert exported.status_code == 200, exported.text
    rows = exported.json()["rows"]
    installations = running.get("/stats/installations", **params).json()
    jobs = running.get("/stats/jobs", **params).json()
    modes = running.get("/stats/deployment-modes", **params).json()

    def metric(name: str, key: str = "") -> dict[str, Any]:
        return {r["week"]: r["value"] for r in rows if r["metric"] == name and r["key"] == key}

    assert metric("active_installations") == {
        w["week"]: w["active"] for w in installations["series"]
    }
    assert metric("jobs_completed") == {w["week"]: w["completed"] for w in jobs["series"]}
    assert metric("print_hours") == {w["week"]: w["print_hours"] for w in jobs["series"]}
    assert metric("deployment_mode_installations", "-2+3") == {
        w["week"]: m["installations"]
        for w in modes["series"]
        for m in w["modes"]
        if m["mode"] == "-2+3"
    }
    as_csv = running.get("/stats/export/aggregates", format="csv", **params)
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(as_csv.text)))
    assert table[0] == ["week", "metric", "key", "value"]
    assert len(table) == len(rows) + 1
    # a value a spreadsheet would run as a formula is defused
    assert any(line[2] == "'-2+3" for line in table[1:])
    assert not any(line[2] == "-2+3" for line in table[1:])
    for line, row in zip(table[1:], rows, strict=True):
        assert line[0] == row["week"]
        assert line[1] == row["metric"]
        assert float(line[3]) == pytest.approx(row["value"])
    assert_error(running.get("/stats/export/aggregates", format="xml"), 400, "invalid_parameter")


def test_raw_export_pseudonymises_installation_ids(running: Running) -> None:
    first = running.get("/stats/export/raw")
    again = running.get("/stats/export/raw")
    assert first.status_code == 200, first.text
    lines = [json.loads(line) for line in first.text.splitlines()]
    assert len(lines) == len(running.world.sent)
    for installation_id in {i for i, _ in running.world.sent}:
        assert installation_id not in first.text
        assert installation_id.replace("-", "") not in first.text
    assert "first_seen" not in first.text
    for line in lines:
        assert line["installation_id"] == line["aggregate"]["installation"]["installation_id"]
    assert len({line["installation_id"] for line in lines}) == len(PEOPLE)
    assert first.text == again.text  # the configured key keeps pseudonyms stable across exports


def test_exports_are_for_admin_keys_only(running: Running) -> None:
    for path in ("/stats/export/aggregates", "/stats/export/raw"):
        assert_error(running.get(path, key=None), 401)
        assert_error(running.get(path, key=SUBMIT_KEY), 403, "forbidden")


def test_without_a_configured_key_two_raw_exports_cannot_be_joined(database_url: str) -> None:
    world = small_world(PEOPLE[:2], weeks=1)
    with app_client(database_url, **ENV) as http:
        submit_all(http, "", world)
        headers = {"X-API-Key": ADMIN_KEY}
        ids = [
            {
                json.loads(line)["installation_id"]
                for line in http.get("/stats/export/raw", headers=headers).text.splitlines()
            }
            for _ in range(2)
        ]
    assert len(ids[0]) == 2
    assert not ids[0] & ids[1]
