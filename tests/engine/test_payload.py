"""The payload builder produces exactly the 1.1 contract pinned by tests/fixtures/payloads."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from custom_components.printernizer_usage.engine.aggregate import (
    JobFigures,
    PrinterFigures,
    WeekAggregate,
    build_aggregate,
)
from custom_components.printernizer_usage.engine.payload import build_payload, clean
from tests.payloads import load_payloads

from .conftest import WEEK_46, context

DOC = Path(__file__).resolve().parents[2] / "docs" / "payload.md"
H = 3600.0
FARM = build_aggregate(
    WEEK_46,
    WEEK_46 + timedelta(days=7),
    fleet={"bambu_lab": {"X1C": 2, "P1S": 1}, "klipper": {"unknown": 1}, "prusa": {"unknown": 1}},
    printers={
        "x1c-a": PrinterFigures(
            "bambu_lab", "X1C", JobFigures(14, 12, 1, 1, 0, 80 * H, 1.5 * H, 160 * H, 412.5, 4)
        ),
        "x1c-b": PrinterFigures(
            "bambu_lab", "X1C", JobFigures(10, 8, 2, 0, 0, 60.25 * H, 0, 167 * H, 301.25, 2)
        ),
        "p1s": PrinterFigures("bambu_lab", "P1S", JobFigures(6, 5, 0, 1, 0, 30 * H, 0, 140 * H)),
        "voron": PrinterFigures(
            "klipper", "unknown", JobFigures(6, 4, 1, 0, 1, 30.25 * H, 10 * H, 168 * H, 95.0)
        ),
        "mk4": PrinterFigures("prusa", "unknown", JobFigures(4, 4, 0, 0, 0, 12 * H, 0, 166.25 * H)),
    },
    errors=[
        ("bambu_lab", "X1C", "HMS_0300_0100_0001_0001", "common", 4),
        ("bambu_lab", "X1C", "0500_4001", "serious", 2),
    ],
    uptime_seconds=166.2 * H,
)
SUBMITTED = datetime(2026, 11, 16, 4, 37, 12, tzinfo=UTC)


def shape(value: Any) -> Any:
    """Keys and JSON types (int and float both count as numbers) of a payload."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def test_farm_payload_equals_the_pinned_example() -> None:
    expected = load_payloads("valid")["integration-1.1-farm"]
    sharing_context = context(
        installation_id=expected["installation"]["installation_id"],
        ha_version="2026.11.2",
        deployment_mode="haos",
        country_code="DE",
        first_seen=datetime(2026, 10, 5, 18, 22, tzinfo=UTC),
    )
    assert build_payload(FARM, sharing_context, submitted_at=SUBMITTED) == expected


def test_empty_fleet_payload_has_the_pinned_shape() -> None:
    expected = load_payloads("valid")["integration-1.1-empty-fleet"]
    empty = WeekAggregate(WEEK_46, WEEK_46 + timedelta(days=7), uptime_seconds=12 * 3600)
    built = build_payload(
        empty,
        context(installation_id=expected["installation"]["installation_id"]),
        submitted_at=datetime(2026, 11, 16, 1, 5, tzinfo=UTC),
    )
    assert shape(built) == shape(expected)
    assert built == expected


@pytest.mark.parametrize("name", ["integration-1.1-farm", "integration-1.1-empty-fleet"])
def test_every_emitted_key_is_documented(name: str) -> None:
    documented = set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)*)`", DOC.read_text(encoding="utf-8")))
    documented |= {part for entry in documented for part in entry.split(".")}
    built = build_payload(FARM, context(first_seen=SUBMITTED), submitted_at=SUBMITTED)
    fixed_keys = [*built, *built["installation"], *built["period"], *built["printer_fleet"]]
    fixed_keys += [*built["usage_stats"], "total_errors"]
    undocumented = [key for key in fixed_keys if key not in documented]
    assert undocumented == [], name


def test_strings_and_maps_respect_the_receiver_limits() -> None:
    noisy = WeekAggregate(
        WEEK_46,
        WEEK_46 + timedelta(days=7),
        fleet={"elegoo": {f"Model {n}": 1 for n in range(70)}},
        errors_by_code={("bambu_lab", f"code-{n}<x>"): n + 1 for n in range(80)},
        errors_by_severity={"Very Bad!": 3},
    )
    built = build_payload(
        noisy, context(country_code="germany", platform="linux\n"), submitted_at=SUBMITTED
    )
    assert len(built["errors_by_code"]) == 64
    assert "bambu_lab:code-79_x_" in built["errors_by_code"]  # the largest counts are kept
    assert len(built["printer_fleet"]["printer_model_counts"]["elegoo"]) == 64
    assert built["error_summary"] == {"total_errors": 3, "severity_Very Bad_": 3}
    assert built["installation"]["country_code"] == "XX"
    assert built["installation"]["platform"] == "linux_"
    assert clean("x" * 100) == "x" * 64
    assert clean("") == "unknown"


def test_the_per_model_breakdown_adds_up_to_the_fleet_totals() -> None:
    built = build_payload(FARM, context(), submitted_at=SUBMITTED)
    stats, breakdown = built["usage_stats"], built["usage_by_model"]
    for name in (
        "jobs_started",
        "jobs_completed",
        "jobs_failed",
        "jobs_cancelled",
        "jobs_ended_without_outcome",
        "active_printers",
    ):
        assert sum(entry[name] for entry in breakdown) == stats[name], name
    for name in ("print_hours", "paused_hours", "filament_m"):
        assert sum(entry.get(name, 0) for entry in breakdown) == pytest.approx(stats[name]), name
    model_counts = built["printer_fleet"]["printer_model_counts"]
    assert {(e["family"], e["model"]): e["printers"] for e in breakdown} == {
        (family, model): count
        for family, models in model_counts.items()
        for model, count in models.items()
    }
    errors = built["errors_by_model"]
    assert sum(e["count"] for e in errors) == built["error_summary"]["total_errors"]
    assert {(e["family"], e["model"], e["code"]) for e in errors} == {
        ("bambu_lab", "X1C", "HMS_0300_0100_0001_0001"),
        ("bambu_lab", "X1C", "0500_4001"),
    }
