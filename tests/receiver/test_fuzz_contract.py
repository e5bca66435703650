"""Fuzzing against a real server (SQLite and PostgreSQL): never a server error, every answer as the
receiver's own OpenAPI document describes it, every accepted body stored exactly once, nothing stored
from a refused body.

Two sources of requests, both bounded (a few hundred requests per database, seconds each):

- Schemathesis generates requests for every operation of the document, valid and invalid by the
  document. Hardly any of its bodies passes the receiver's own rules (real country codes, whole recent
  ISO weeks, the breakdown within the fleet totals), so
- a hypothesis strategy builds `/submit` bodies that pass them from the example payloads
  (tests/fixtures/payloads/valid): a fresh installation id, a period the rules accept, and fields
  changed one by one within the contract; some are re-sent (the stored copy is replaced, never
  doubled), some get one field broken (a value of another type or out of range, or the field
  removed; whatever the receiver answers, the database must agree with it).
"""

import asyncio
import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
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
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from receiver.ingest.countries import ISO_3166_ALPHA2
from receiver.ingest.schema import MAX_COUNT, MAX_HOURS, MAX_ITEMS, TEXT_PATTERN
from tests.payloads import load_payloads
from tests.receiver.conftest import ADMIN_KEY, SUBMIT_KEY, query, server_env
from tests.receiver_server import RunningReceiver, run_receiver

EXAMPLES = 100  # per operation (operations without inputs stop as soon as hypothesis runs out)
BODIES = 150  # /submit bodies built from the examples, per database
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
VALID = load_payloads("valid")
INVALID = load_payloads("invalid")
COUNTRIES = [*sorted(ISO_3166_ALPHA2), "XX"]
WEEK = timedelta(weeks=1)
# schema 1.1 fleet totals a breakdown is checked against: they may only grow
TOTALS_11 = (
    "jobs_started",
    "jobs_completed",
    "jobs_failed",
    "jobs_cancelled",
    "jobs_ended_without_outcome",
    "active_printers",
)
HOURS_11 = ("print_hours", "paused_hours", "printer_online_hours", "filament_m")


@dataclass
class Fuzzed:
    receiver: RunningReceiver
    database_url: str
    document: dict[str, Any]
    schema: Any

    def operation(self, method: str, path: str) -> Any:
        for result in self.schema.get_all_operations():
            assert isinstance(result, Ok), result
            operation = result.ok()
            if (operation.method.upper(), operation.path) == (method, path):
                return operation
        raise AssertionError(f"{method} {path} is not in the document")


@pytest.fixture(scope="module")
def fuzzed(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """One real server per database for the module (the process's log is checked too)."""
    tmp = tmp_path_factory.mktemp("fuzz")
    with run_receiver(module_database_url, tmp, server_env()) as receiver:
        document = httpx.get(f"{receiver.url}/schema/openapi.json").json()
        yield Fuzzed(
            receiver, module_database_url, document, schemathesis.openapi.from_dict(document)
        )
        log = receiver.log_text()
    assert "unexpected_error" not in log
    assert "Traceback" not in log


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


def _stored_installations(database_url: str) -> set[str]:
    rows = asyncio.run(query(database_url, "SELECT DISTINCT installation_id FROM submissions"))
    return {str(row[0]).lower() for row in rows}


def test_fuzzing_finds_no_server_error_and_no_drift(fuzzed: Fuzzed) -> None:
    before = _stored_installations(fuzzed.database_url)
    stored_ids: set[str] = set()
    calls: dict[tuple[str, str], int] = {}
    for result in fuzzed.schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        if key in OPERATIONS:
            calls[key] = _fuzz(fuzzed.receiver.url, operation, stored_ids)
    assert set(calls) == OPERATIONS
    assert calls["POST", "/submit"] == EXAMPLES
    assert calls["DELETE", "/installation/{installation_id}"] == EXAMPLES
    log = fuzzed.receiver.log_text()
    assert "unexpected_error" not in log
    assert "Traceback" not in log
    # nothing stored from a refused body: every installation stored since was answered 200
    stored = _stored_installations(fuzzed.database_url) - before
    assert stored <= stored_ids
    print(json.dumps({"requests": sum(calls.values()), "stored": len(stored)}))


# --- bodies that pass the receiver's rules, changed field by field --------------------------------

TEXT = st.from_regex(TEXT_PATTERN.replace("*", "{1,64}"), fullmatch=True)
COUNT = st.integers(min_value=0, max_value=MAX_COUNT)


def _last_monday() -> datetime:
    """00:00 UTC of the Monday that began the last complete ISO week."""
    today = datetime.now(UTC).date()
    this_monday = today - timedelta(days=today.weekday())
    return datetime.combine(this_monday, time.min, tzinfo=UTC) - WEEK


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _example(name: str, weeks_ago: int = 0, minutes_ago: int = 60, days: int = 7) -> dict[str, Any]:
    """Valid example `name` as the receiver accepts it today: a fresh installation id (10
    submissions an hour are allowed per installation) and a recent period — for 1.1 the whole ISO
    week `weeks_ago` before the last complete one, for 1.0 a window of `days` that ended
    `minutes_ago`."""
    body = copy.deepcopy(VALID[name])
    body["installation"]["installation_id"] = str(uuid.uuid4())
    if body["schema_version"].startswith("1.0"):
        end = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        start = end - timedelta(days=days)
    else:
        start = _last_monday() - weeks_ago * WEEK
        end, days = start + WEEK, 7
    body["period"] = {"start": _iso(start), "end": _iso(end), "duration_days": days}
    return body


@st.composite
def accepted_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A body the receiver must store: one of the valid examples with a recent period (a whole
    ISO week among the last ten; a rolling window of 1 to 31 days that ended within the last ten
    weeks), and fields changed within the contract."""
    body = _example(
        draw(st.sampled_from(sorted(VALID))),
        weeks_ago=draw(st.integers(0, 9)),
        minutes_ago=draw(st.integers(1, 10 * 7 * 24 * 60)),
        days=draw(st.integers(1, 31)),
    )
    installation = body["installation"]
    is_10 = body["schema_version"].startswith("1.0")

    # the contract's free fields, each changed or not
    if draw(st.booleans()):
        installation["country_code"] = draw(st.sampled_from(COUNTRIES))
    for name in ("app_version", "deployment_mode"):
        if draw(st.booleans()):
            installation[name] = draw(TEXT)
    if draw(st.booleans()):
        installation["platform"] = draw(st.one_of(st.just(""), TEXT))
    if draw(st.booleans()):
        installation["python_version"] = draw(st.one_of(st.none(), TEXT))
    if draw(st.booleans()):
        body.pop("submission_timestamp", None)
    if draw(st.booleans()):
        body["printer_fleet"]["printer_count"] = draw(COUNT)
    usage = body["usage_stats"]
    for name in ("job_count", "file_count", "upload_count"):
        if draw(st.booleans()):
            usage[name] = draw(COUNT) if name == "job_count" else draw(st.one_of(st.none(), COUNT))
    if draw(st.booleans()):
        usage["uptime_hours"] = draw(st.integers(0, int(MAX_HOURS)))
    if draw(st.booleans()):
        usage["feature_usage"] = draw(st.dictionaries(TEXT, st.booleans(), max_size=MAX_ITEMS))
    if draw(st.booleans()):  # more errors than the breakdown names is allowed, fewer is not
        errors = body.setdefault("error_summary", {})
        errors["total_errors"] = errors.get("total_errors", 0) + draw(st.integers(0, 1000))
    if not is_10:  # a breakdown may not add up to more than its fleet total: totals only grow
        for name in TOTALS_11:
            if isinstance(usage.get(name), int) and draw(st.booleans()):
                usage[name] += draw(st.integers(0, 1000))
        for name in HOURS_11:
            if isinstance(usage.get(name), int | float) and draw(st.booleans()):
                usage[name] = round(usage[name] + draw(st.integers(0, 1000)) / 4, 2)
    return body


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=80),
    st.sampled_from(["", "XX", "de", "1.0", "2.0", "2026-11-09T00:00:00Z", str(uuid.UUID(int=0))]),
    st.just([]),
    st.just({}),
)


@st.composite
def broken_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """An accepted body with one field replaced by a value of any type, or removed."""
    body = draw(accepted_bodies())
    path = draw(st.sampled_from(list(_paths(body))))
    parent: Any = body
    for step in path[:-1]:
        parent = parent[step]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(HOSTILE)
    return body


def _near_misses(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """One rule of the receiver's own (not the document's) broken, the rest of the body valid."""
    period = body["period"]
    start, end = (datetime.fromisoformat(period[name]) for name in ("start", "end"))
    ahead = _last_monday() + 3 * WEEK  # a Monday: for 1.1 only the future is wrong

    def set_period(new_start: datetime, new_end: datetime) -> None:
        period.update(start=_iso(new_start), end=_iso(new_end))

    misses: list[tuple[str, Any]] = [
        ("unassigned country", lambda: body["installation"].update(country_code="ZZ")),
        ("unsupported version", lambda: body.update(schema_version="2.0")),
        ("end not after start", lambda: set_period(start, start)),
        # a day beyond the clock tolerance (an hour) from now, whatever the period was
        ("in the future", lambda: set_period(ahead - (end - start), ahead)),
    ]
    if body["schema_version"].startswith("1.0"):
        misses.append(("longer than 31 days", lambda: set_period(end - timedelta(days=32), end)))
        return misses
    misses += [
        ("not a Monday", lambda: set_period(start + timedelta(days=1), end + timedelta(days=1))),
        ("not a whole week", lambda: set_period(start, end + timedelta(hours=1))),
    ]
    usage = body.get("usage_by_model")
    if usage:
        misses += [
            ("a model twice", lambda: usage.append(copy.deepcopy(usage[0]))),
            ("above its fleet total", lambda: body["usage_stats"].update(jobs_started=0)),
        ]
    if body.get("errors_by_model"):
        errors = body["error_summary"]
        misses.append(("errors above the total", lambda: errors.update(total_errors=0)))
    return misses


def every_near_miss() -> Iterator[tuple[str, dict[str, Any]]]:
    """Each near miss of each valid example once (hypothesis would favour the first few)."""
    for name in sorted(VALID):
        for index in range(len(_near_misses(_example(name)))):
            body = _example(name)
            miss, breach = _near_misses(body)[index]
            breach()
            yield f"{name}: {miss}", body


@st.composite
def near_misses(draw: st.DrawFn) -> dict[str, Any]:
    """An accepted body with exactly one of the receiver's rules broken: always refused."""
    body = draw(accepted_bodies())
    _, breach = draw(st.sampled_from(_near_misses(body)))
    breach()
    return body


@st.composite
def refused_examples(draw: st.DrawFn) -> dict[str, Any]:
    """An invalid example (tests/fixtures/payloads/invalid) under a fresh installation id."""
    body = copy.deepcopy(INVALID[draw(st.sampled_from(sorted(INVALID)))])
    installation = body.get("installation")
    if isinstance(installation, dict) and "installation_id" in installation:
        try:
            uuid.UUID(str(installation["installation_id"]))
        except ValueError:
            return body  # the id itself is what is wrong
        installation["installation_id"] = str(uuid.uuid4())
    return body


def _secret(installation_id: str) -> str:
    return f"secret-of-{installation_id}"


@dataclass
class Ledger:
    """What the database must hold after the answers so far: per installation, the stored periods
    with their job count and number of breakdown rows."""

    engine: AsyncEngine
    runner: asyncio.Runner
    before: int
    stored: dict[str, dict[tuple[datetime, datetime], tuple[int, int]]] = field(
        default_factory=dict
    )
    answers: dict[int, int] = field(default_factory=dict)

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        async def run() -> list[tuple[Any, ...]]:
            async with self.engine.connect() as connection:
                return [tuple(row) for row in await connection.execute(text(sql), params)]

        return self.runner.run(run())

    def check(self, installation_id: str | None) -> None:
        (total,) = self.rows("SELECT count(*) FROM submissions")
        assert total[0] == self.before + sum(len(periods) for periods in self.stored.values())
        if installation_id is None:
            return
        expected = self.stored.get(installation_id, {})
        jobs = self.rows(
            "SELECT job_count FROM submissions WHERE installation_id = :id", id=installation_id
        )
        assert sorted(row[0] for row in jobs) == sorted(job for job, _ in expected.values())
        (models,) = self.rows(
            "SELECT count(*) FROM submission_models m JOIN submissions s "
            "ON m.submission_id = s.id WHERE s.installation_id = :id",
            id=installation_id,
        )
        assert models[0] == sum(rows for _, rows in expected.values())


def _period(body: dict[str, Any]) -> tuple[datetime, datetime]:
    def utc(value: str) -> datetime:
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    return utc(body["period"]["start"]), utc(body["period"]["end"])


def _installation_id(body: Any) -> str | None:
    try:
        return str(uuid.UUID(str(body["installation"]["installation_id"])))
    except KeyError, TypeError, ValueError:
        return None


def test_accepted_bodies_are_stored_exactly_once_and_refused_ones_never(fuzzed: Fuzzed) -> None:
    operation = fuzzed.operation("POST", "/submit")
    with asyncio.Runner() as runner:
        engine = create_async_engine(fuzzed.database_url)
        ledger = Ledger(engine, runner, 0)
        try:
            (before,) = ledger.rows("SELECT count(*) FROM submissions")
            ledger.before = int(before[0])
            _submit_bodies(fuzzed.receiver.url, operation, ledger)
        finally:
            runner.run(engine.dispose())
    answers = ledger.answers
    # the strategy did what it is for: most of its bodies were stored (re-sends replaced their
    # period), and broken or invalid bodies were refused
    assert answers.get(200, 0) >= BODIES // 2, answers
    assert answers.get(400, 0) >= BODIES // 4, answers
    print(json.dumps({"answers": answers, "installations": len(ledger.stored)}))


def _submit_bodies(url: str, operation: Any, ledger: Ledger) -> None:
    def send(body: dict[str, Any], *, expect: int | None) -> int:
        installation_id = _installation_id(body)
        headers = {"X-API-Key": SUBMIT_KEY}
        if installation_id is not None:
            headers["X-Installation-Secret"] = _secret(installation_id)
        case = operation.Case(body=body, media_type="application/json", headers=headers)
        response = case.call(base_url=url, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS, headers=headers)
        status: int = response.status_code
        ledger.answers[status] = ledger.answers.get(status, 0) + 1
        if status == 200:
            assert installation_id is not None
            models = body.get("usage_by_model")
            ledger.stored.setdefault(installation_id, {})[_period(body)] = (
                body["usage_stats"]["job_count"],
                len(models) if isinstance(models, list) and body["schema_version"] != "1.0" else 0,
            )
        ledger.check(installation_id)
        if expect is not None:  # a body within the contract is stored, a near miss refused
            assert status == expect, (status, response.text, body)
        return status

    for _, body in every_near_miss():
        send(body, expect=400)

    @settings(
        max_examples=BODIES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(["accepted", "resent", "near miss", "broken", "refused"]))
        if kind == "broken":
            send(data.draw(broken_bodies()), expect=None)
        elif kind == "refused":
            send(data.draw(refused_examples()), expect=400)
        elif kind == "near miss":
            send(data.draw(near_misses()), expect=400)
        else:
            body = data.draw(accepted_bodies())
            send(body, expect=200)
            if kind == "resent":  # the same installation and period with other figures: replaced
                body["usage_stats"]["job_count"] = data.draw(COUNT)
                send(body, expect=200)

    run()
