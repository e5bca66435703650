"""Schemathesis against a real server (SQLite and PostgreSQL): generated requests for every operation
of the receiver's own OpenAPI document, valid and invalid. Never a server error, every answer as the
document describes it, and nothing stored from a refused body.

Bounded: at most EXAMPLES per operation (a few hundred requests per database, seconds each).
"""

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.receiver.conftest import ADMIN_KEY, SUBMIT_KEY, query, server_env
from tests.receiver_server import run_receiver

EXAMPLES = 100  # per operation (operations without inputs stop as soon as hypothesis runs out)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# the receiver's own operations (the analytics and dashboard routes have their own tests)
OPERATIONS = {
    ("POST", "/submit"),
    ("DELETE", "/installation/{installation_id}"),
    ("GET", "/ready"),
    ("GET", "/health"),
    ("GET", "/metrics"),
}


def _key_for(path: str) -> str:
    return ADMIN_KEY if path.startswith(("/stats", "/metrics")) else SUBMIT_KEY


def _fuzz(url: str, operation: Any, stored_ids: set[str]) -> int:
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    calls = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        nonlocal calls
        headers = {"X-API-Key": _key_for(operation.path)}
        response = case.call(base_url=url, headers=headers, timeout=30)
        calls += 1
        case.validate_response(response, checks=CHECKS, headers=headers)
        if operation.path == "/submit" and response.status_code == 200:
            body = case.body if isinstance(case.body, dict) else {}
            stored_ids.add(str(body.get("installation", {}).get("installation_id", "")).lower())

    run()
    return calls


def test_fuzzing_finds_no_server_error_and_no_drift(database_url: str, tmp_path: Path) -> None:
    with run_receiver(database_url, tmp_path, server_env()) as receiver:
        document = httpx.get(f"{receiver.url}/schema/openapi.json").json()
        schema = schemathesis.openapi.from_dict(document)
        stored_ids: set[str] = set()
        calls: dict[tuple[str, str], int] = {}
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operation = result.ok()
            key = (operation.method.upper(), operation.path)
            if key in OPERATIONS:
                calls[key] = _fuzz(receiver.url, operation, stored_ids)
        log = receiver.log_text()
    assert set(calls) == OPERATIONS
    assert calls["POST", "/submit"] == EXAMPLES
    assert calls["DELETE", "/installation/{installation_id}"] == EXAMPLES
    assert "unexpected_error" not in log
    assert "Traceback" not in log
    # nothing stored from a refused body: every stored installation was answered 200
    rows = asyncio.run(query(database_url, "SELECT DISTINCT installation_id FROM submissions"))
    assert {str(row[0]).lower() for row in rows} <= stored_ids
    print(json.dumps({"requests": sum(calls.values()), "stored": len(rows)}))
