"""The shipped Grafana dashboard and its compose profile: every panel reads the provisioned data source,
and every panel's SQL runs on PostgreSQL against the reporting views of a seeded receiver (Docker does
not run here, so Grafana itself is not started; its queries are)."""

import asyncio
import json
import re
from typing import Any

import yaml  # type: ignore[import-untyped]

from tests.receiver.analytics_world import ENV, generate, submit_all
from tests.receiver.conftest import ADMIN_KEY, app_client, query
from tests.receiver_server import ROOT

GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "printernizer-usage.json"
DATASOURCE = GRAFANA / "provisioning" / "datasources" / "printernizer-usage.yaml"


def panels() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(DASHBOARD.read_text())["panels"]
    return found


def test_every_panel_reads_the_provisioned_data_source() -> None:
    source = yaml.safe_load(DATASOURCE.read_text())["datasources"][0]
    assert source["type"] == "grafana-postgresql-datasource"
    ids = [panel["id"] for panel in panels()]
    assert len(ids) == len(set(ids)) >= 8
    for panel in panels():
        assert panel["datasource"]["uid"] == source["uid"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["uid"]
            assert re.search(r"\breport_weekly_\w+", target["rawSql"])
        assert panel["gridPos"]["x"] >= 0
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def test_the_compose_profile_provisions_grafana_from_the_repository() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    grafana = compose["services"]["grafana"]
    assert grafana["profiles"] == ["grafana"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in grafana["volumes"]}
    assert (ROOT / mounts["/etc/grafana/provisioning"]).resolve() == GRAFANA / "provisioning"
    assert (ROOT / mounts["/var/lib/grafana/dashboards"]).resolve() == GRAFANA / "dashboards"
    assert grafana["ports"] == ["127.0.0.1:3000:3000"]


def test_every_panel_query_runs_on_postgresql(postgres_url: str) -> None:
    with app_client(postgres_url, **ENV) as http:
        submit_all(http, "", generate(3, installations=12, weeks=6))
        refreshed = http.get("/stats/installations", headers={"X-API-Key": ADMIN_KEY})
        assert refreshed.status_code == 200
    for panel in panels():
        for target in panel["targets"]:
            sql = target["rawSql"].replace("$__timeFilter(week)", "week >= DATE '2000-01-01'")
            assert "$__" not in sql
            rows = asyncio.run(query(postgres_url, sql))
            assert rows, panel["title"]
