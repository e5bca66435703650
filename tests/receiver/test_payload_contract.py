"""The shared example payloads pin the contract: valid ones are stored, invalid ones refused."""

import json
from typing import Any

import pytest

from tests.payloads import load_payloads
from tests.receiver.conftest import Api, assert_error, count, query

VALID = load_payloads("valid")
INVALID = load_payloads("invalid")


def stored_aggregate(row: tuple[Any, ...]) -> dict[str, Any]:
    value = row[0]
    parsed: dict[str, Any] = json.loads(value) if isinstance(value, str) else value
    return parsed


async def test_every_valid_example_is_stored_once(api: Api, database_url: str) -> None:
    for name, payload in VALID.items():
        response = api.submit(payload, compress=name.startswith("integration"))
        assert response.status_code == 200, f"{name}: {response.text}"
        assert response.json() == {"status": "stored"}
    assert await count(database_url, "submissions") == len(VALID)
    assert await count(database_url, "installations") == len(VALID)


async def test_unknown_fields_are_not_stored(api: Api, database_url: str) -> None:
    payload = VALID["future-1.4-extra-fields"]
    assert api.submit(payload).status_code == 200
    rows = await query(database_url, "SELECT aggregate, schema_version FROM submissions")
    aggregate = stored_aggregate(rows[0])
    assert rows[0][1] == "1.1"
    assert "future_section" not in aggregate
    assert "some_future_field" not in aggregate["installation"]
    assert aggregate["printer_fleet"]["printer_model_counts"] == {"bambu_lab": {"H2D": 1}}
    assert aggregate["usage_stats"]["jobs_completed"] == 3


async def test_schema_1_0_keeps_only_1_0_fields(api: Api, database_url: str) -> None:
    payload = json.loads(json.dumps(VALID["printernizer-1.0-example"]))
    payload["usage_stats"]["jobs_failed"] = 3
    assert api.submit(payload).status_code == 200
    rows = await query(database_url, "SELECT aggregate FROM submissions")
    aggregate = stored_aggregate(rows[0])
    assert aggregate["usage_stats"]["job_count"] == 41
    assert "jobs_failed" not in aggregate["usage_stats"]


async def test_every_invalid_example_is_refused(api: Api, database_url: str) -> None:
    for name, payload in INVALID.items():
        response = api.submit(payload)
        error = assert_error(response, 400)
        assert error["code"] in {"invalid_payload", "unsupported_schema_version"}, name
    assert await count(database_url, "submissions") == 0
    assert await count(database_url, "installations") == 0


@pytest.mark.parametrize("version", ["2.0", "0.9", "10.1"])
async def test_unknown_major_version_names_supported_versions(api: Api, version: str) -> None:
    payload = {**VALID["printernizer-1.0-example"], "schema_version": version}
    error = assert_error(api.submit(payload), 400, "unsupported_schema_version")
    assert "1.0" in error["message"]
    assert "1.1" in error["message"]
