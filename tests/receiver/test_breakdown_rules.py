"""The per-model breakdown rules (schema 1.1), without a server."""

import copy
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from receiver.errors import ApiError
from receiver.ingest.breakdown import week_of
from receiver.ingest.schema import Payload11
from receiver.ingest.validation import ValidPayload, decode_payload
from tests.payloads import load_payloads

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FARM = load_payloads("valid")["integration-1.1-breakdown-farm"]


def decode(payload: dict[str, Any]) -> ValidPayload:
    return decode_payload(json.dumps(payload).encode(), NOW)


def refusal(payload: dict[str, Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        decode(payload)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_payload"
    return caught.value


def farm() -> dict[str, Any]:
    return copy.deepcopy(FARM)


def test_the_fixture_is_valid() -> None:
    assert decode(farm()).schema_version == "1.1"


def test_hours_may_exceed_the_total_by_a_rounding_hundredth_per_item() -> None:
    payload = farm()
    items = payload["usage_by_model"]
    payload["usage_stats"]["print_hours"] = 189.63  # items add up to 189.65: 2 items x 0.01
    decode(payload)
    payload["usage_stats"]["print_hours"] = 189.62
    error = refusal(payload)
    assert "print_hours" in error.message
    assert error.details == [
        {"field": "$.usage_by_model[*].print_hours", "problem": "sum above usage_stats.print_hours"}
    ]
    assert len(items) == 2


@pytest.mark.parametrize(
    "name",
    [
        "jobs_started",
        "jobs_completed",
        "jobs_failed",
        "jobs_cancelled",
        "jobs_ended_without_outcome",
        "active_printers",
    ],
)
def test_every_counter_is_bounded_by_its_fleet_total(name: str) -> None:
    payload = farm()
    total = sum(item[name] for item in payload["usage_by_model"])
    payload["usage_stats"][name] = total
    decode(payload)
    payload["usage_stats"][name] = total - 1
    error = refusal(payload)
    assert f"usage_stats.{name}" in error.message


@pytest.mark.parametrize("name", ["paused_hours", "filament_m"])
def test_paused_hours_and_filament_are_bounded_too(name: str) -> None:
    payload = farm()
    payload["usage_stats"][name] = 1.0
    assert name in refusal(payload).message


def test_missing_fleet_totals_are_not_checked() -> None:
    payload = farm()
    stats = payload["usage_stats"]
    for name in ("jobs_ended_without_outcome", "paused_hours", "active_printers"):
        del stats[name]
    stats["filament_m"] = None  # no printer of the fleet reports filament
    del payload["error_summary"]["total_errors"]
    valid = decode(payload)
    assert isinstance(valid.payload, Payload11)
    assert valid.payload.usage_stats.filament_m is None


def test_duplicates_are_named_with_their_position() -> None:
    payload = farm()
    payload["usage_by_model"].append(copy.deepcopy(payload["usage_by_model"][1]))
    payload["usage_by_model"][2]["jobs_started"] = 0
    error = refusal(payload)
    assert error.details[0]["field"] == "$.usage_by_model[2]"
    assert "'prusa'" in error.message


def test_a_model_may_appear_once_per_code_in_errors() -> None:
    payload = farm()
    payload["errors_by_model"][1]["model"] = "P1S"  # same code, another model: fine
    decode(payload)
    payload["errors_by_model"][1]["model"] = "X1C"
    payload["errors_by_model"][1]["code"] = payload["errors_by_model"][0]["code"]
    assert refusal(payload).details[0]["field"] == "$.errors_by_model[1]"


def test_caps_hold_for_the_breakdown() -> None:
    payload = farm()
    payload["usage_by_model"] = [
        {**payload["usage_by_model"][1], "model": f"m{index}", "jobs_started": 0}
        for index in range(65)
    ]
    del payload["usage_stats"]["active_printers"], payload["usage_stats"]["paused_hours"]
    payload["usage_stats"]["print_hours"] = 100_000
    payload["usage_stats"]["jobs_completed"] = 1_000_000
    payload["usage_stats"]["jobs_failed"] = 1_000_000
    payload["usage_stats"]["jobs_cancelled"] = 1_000_000
    assert "64" in refusal(payload).message
    payload["usage_by_model"] = payload["usage_by_model"][:64]
    decode(payload)
    payload["usage_by_model"][0]["paused_hours"] = 100_000.5
    assert refusal(payload).details[0]["field"] == "$.usage_by_model[0].paused_hours"
    payload["usage_by_model"][0]["paused_hours"] = 1
    payload["usage_by_model"][0]["model"] = "x" * 65
    assert refusal(payload).details[0]["field"] == "$.usage_by_model[0].model"


@pytest.mark.parametrize(
    ("start", "end", "monday"),
    [
        ("2026-11-09T00:00:00Z", "2026-11-16T00:00:00Z", date(2026, 11, 9)),
        ("2026-11-08T23:00:00Z", "2026-11-15T23:00:00Z", date(2026, 11, 9)),
        ("2026-11-11T00:00:00Z", "2026-11-18T00:00:00Z", date(2026, 11, 9)),
        ("2026-11-13T00:00:00Z", "2026-11-20T00:00:00Z", date(2026, 11, 16)),
        ("2025-12-29T00:00:00Z", "2026-01-05T00:00:00Z", date(2025, 12, 29)),
    ],
)
def test_a_submission_counts_for_the_week_holding_the_middle_of_its_period(
    start: str, end: str, monday: date
) -> None:
    assert week_of(datetime.fromisoformat(start), datetime.fromisoformat(end)) == monday
