"""GET /stats/reliability: per-model figures over ISO weeks, checked against a brute-force computation
over generated submissions (fixed seed) on SQLite and PostgreSQL, and identical on both."""

import copy
import math
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from receiver.analytics.reliability import week_range, wilson_interval
from receiver.app import create_app
from receiver.errors import ApiError
from tests.payloads import load_payloads
from tests.receiver.conftest import (
    ADMIN_KEY,
    SUBMIT_KEY,
    Api,
    assert_error,
    server_env,
    settings_for,
)
from tests.receiver_server import run_receiver

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
VALID = load_payloads("valid")
FARM = VALID["integration-1.1-breakdown-farm"]
OLD_11 = VALID["integration-0.1.0-without-breakdown"]
OLD_10 = VALID["printernizer-1.0-example"]
SEED = 20261126
# the answers come from the rollups: refreshed before every answer, so each sees what was just sent
FRESH_ROLLUPS = {"RECEIVER_ROLLUP_INTERVAL_SECONDS": "0"}
FIRST_MONDAY = date(2026, 8, 3)  # 2026-W32
GENERATED_WEEKS = 15  # W32 … W46
RANGES = [("2026-W34", "2026-W44"), ("2026-W32", "2026-W46"), ("2026-W46", "2026-W46")]
MODELS = [
    ("bambu_lab", "X1C"),
    ("bambu_lab", "P1S"),
    ("bambu_lab", "A1MINI"),
    ("prusa", "unknown"),
    ("klipper", "unknown"),
    ("elegoo", "Centauri Carbon"),
]
CODES = {
    "bambu_lab": ["0300_0100_0001_0001", "0500_0200_0002_0001", "0700_0100_0001_0002", "0C00_0300"],
    "prusa": ["10101", "17505", "13104"],
    "klipper": ["mcu_shutdown", "thermal_runaway"],
    "elegoo": ["E0103", "E0201", "E0302"],
}
FILAMENT_KNOWN = {"bambu_lab", "elegoo"}
Z = 1.959963984540054


# ---------------------------------------------------------------------------------------------
# Generated data


@dataclass
class Generated:
    """What was sent, in order (re-sends included): (installation id, payload)."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def final(self) -> list[dict[str, Any]]:
        """The stored submissions: the last one sent per (installation, period)."""
        stored: dict[tuple[str, str, str], dict[str, Any]] = {}
        for installation_id, payload in self.sent:
            period = payload["period"]
            stored[installation_id, period["start"], period["end"]] = payload
        return list(stored.values())


def iso_z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def model_week(rng: random.Random, family: str, model: str, printers: int) -> dict[str, Any]:
    small = rng.random() < 0.25  # small numbers: the interval must stay wide
    started = rng.randint(0, 2) if small else rng.randint(0, 25)
    completed = rng.randint(0, started)
    failed = rng.randint(0, started - completed)
    cancelled = rng.randint(0, started - completed - failed)
    return {
        "family": family,
        "model": model,
        "printers": printers,
        "active_printers": rng.randint(0, printers),
        "jobs_started": started,
        "jobs_completed": completed,
        "jobs_failed": failed,
        "jobs_cancelled": cancelled,
        "jobs_ended_without_outcome": started - completed - failed - cancelled,
        "print_hours": rng.randint(0, 6000 * printers) / 100,
        "paused_hours": rng.randint(0, 500) / 100,
        "filament_m": rng.randint(0, 90000) / 100 if family in FILAMENT_KNOWN else None,
    }


def weekly_payload(
    rng: random.Random,
    installation_id: str,
    fleet: dict[tuple[str, str], int],
    start: datetime,
    *,
    with_breakdown: bool = True,
) -> dict[str, Any]:
    payload = copy.deepcopy(FARM)
    payload["installation"]["installation_id"] = installation_id
    end = start + timedelta(days=7)
    payload["period"] = {"start": iso_z(start), "end": iso_z(end), "duration_days": 7}
    payload["submission_timestamp"] = iso_z(end + timedelta(hours=3))
    model_counts: dict[str, dict[str, int]] = defaultdict(dict)
    for (family, model), printers in fleet.items():
        model_counts[family][model] = printers
    payload["printer_fleet"] = {
        "printer_count": sum(fleet.values()),
        "printer_types": sorted(model_counts),
        "printer_type_counts": {f: sum(m.values()) for f, m in sorted(model_counts.items())},
        "printer_model_counts": dict(sorted(model_counts.items())),
    }
    usage = [model_week(rng, family, model, n) for (family, model), n in sorted(fleet.items())]
    errors: list[dict[str, Any]] = [
        {"family": family, "model": model, "code": code, "count": rng.randint(1, 6)}
        for family, model in sorted(fleet)
        for code in rng.sample(CODES[family], rng.randint(0, len(CODES[family])))
    ]
    if rng.random() < 0.1:  # a printer removed during the week: errors, no usage bucket
        errors.append({"family": "prusa", "model": "MK3S", "code": "17505", "count": 1})
    stats = payload["usage_stats"]
    for name in (
        "jobs_started",
        "jobs_completed",
        "jobs_failed",
        "jobs_cancelled",
        "jobs_ended_without_outcome",
        "active_printers",
    ):
        stats[name] = sum(item[name] for item in usage)
    stats["job_count"] = stats["jobs_completed"] + stats["jobs_failed"]
    for name in ("print_hours", "paused_hours"):
        stats[name] = round(sum(item[name] for item in usage), 2)
    filament = [item["filament_m"] for item in usage if item["filament_m"] is not None]
    stats["filament_m"] = round(sum(filament), 2) if filament else None
    total_errors = sum(error["count"] for error in errors)
    payload["error_summary"] = {"total_errors": total_errors}
    payload["errors_by_code"] = {}
    payload["usage_by_model"] = usage
    payload["errors_by_model"] = errors
    if not with_breakdown:
        del payload["usage_by_model"], payload["errors_by_model"]
    return payload


def generate(seed: int = SEED, installations: int = 14) -> Generated:
    rng = random.Random(seed)
    generated = Generated()
    for _ in range(installations):
        installation_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        fleet = {key: rng.randint(1, 4) for key in rng.sample(MODELS, rng.randint(1, 3))}
        for week in range(GENERATED_WEEKS):
            if rng.random() < 0.3:
                continue
            monday = datetime.combine(
                FIRST_MONDAY + timedelta(weeks=week), datetime.min.time(), tzinfo=UTC
            )
            roll = rng.random()
            if roll < 0.08:  # an older 1.1 builder: no breakdown at all
                generated.sent.append(
                    (
                        installation_id,
                        weekly_payload(rng, installation_id, fleet, monday, with_breakdown=False),
                    )
                )
                continue
            if roll < 0.2:  # sent twice: the second copy replaces the first
                draft = weekly_payload(rng, installation_id, fleet, monday)
                generated.sent.append((installation_id, draft))
            generated.sent.append(
                (installation_id, weekly_payload(rng, installation_id, fleet, monday))
            )
            # (no overlapping 1.1 windows: the receiver accepts only whole ISO weeks for 1.1)
    one_zero = copy.deepcopy(OLD_10)
    one_zero["installation"]["installation_id"] = str(
        uuid.UUID(int=rng.getrandbits(128), version=4)
    )
    generated.sent.append((one_zero["installation"]["installation_id"], one_zero))
    return generated


# ---------------------------------------------------------------------------------------------
# The brute-force reference: plain Python over the generated payloads


def monday_of_middle(payload: dict[str, Any]) -> date:
    start = datetime.fromisoformat(payload["period"]["start"])
    end = datetime.fromisoformat(payload["period"]["end"])
    middle = (start + (end - start) / 2).astimezone(UTC).date()
    return middle - timedelta(days=middle.isoweekday() - 1)


def wilson_reference(successes: int, trials: int) -> dict[str, float] | None:
    """The Wilson interval in its other textbook form: (2np + z² ± z√(z² + 4np(1-p))) / 2(n + z²)."""
    if trials == 0:
        return None
    share = successes / trials
    root = Z * math.sqrt(Z * Z + 4 * trials * share * (1 - share))
    low = (2 * trials * share + Z * Z - root) / (2 * (trials + Z * Z))
    high = (2 * trials * share + Z * Z + root) / (2 * (trials + Z * Z))
    return {"low": max(0.0, low), "high": min(1.0, high)}


def hundredths(value: float | None) -> int:
    return 0 if value is None else round(value * 100)


def brute_force(generated: Generated, since: date, until: date) -> list[dict[str, Any]]:
    chosen: dict[tuple[str, date], dict[str, Any]] = {}
    for payload in generated.final():
        if not payload.get("usage_by_model") and not payload.get("errors_by_model"):
            continue
        week = monday_of_middle(payload)
        if not since <= week <= until:
            continue
        key = (payload["installation"]["installation_id"], week)
        if key not in chosen or payload["period"]["end"] > chosen[key]["period"]["end"]:
            chosen[key] = payload
    usage: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    codes: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for (installation_id, _), payload in chosen.items():
        for item in payload.get("usage_by_model", []):
            usage[item["family"], item["model"]].append((installation_id, item))
        for error in payload.get("errors_by_model", []):
            codes[error["family"], error["model"]][error["code"]] += error["count"]
    weeks = (until - since).days // 7 + 1
    expected: list[dict[str, Any]] = []
    for family, model in usage.keys() | codes.keys():
        items = usage.get((family, model), [])

        def total(name: str, items: list[tuple[str, dict[str, Any]]] = items) -> int:
            return sum(item[name] for _, item in items)

        completed, failed, cancelled = (
            total("jobs_completed"),
            total("jobs_failed"),
            total("jobs_cancelled"),
        )
        decided = completed + failed + cancelled
        print_centi = sum(hundredths(item["print_hours"]) for _, item in items)
        filament = [item["filament_m"] for _, item in items if item["filament_m"] is not None]
        errors = sum(codes[family, model].values())
        printer_weeks = total("printers")
        expected.append(
            {
                "family": family,
                "model": model,
                "installations": len({installation_id for installation_id, _ in items}),
                "installation_weeks": len(items),
                "printer_weeks": printer_weeks,
                "active_printer_weeks": total("active_printers"),
                "average_printers": printer_weeks / weeks,
                "jobs": {
                    "started": total("jobs_started"),
                    "completed": completed,
                    "failed": failed,
                    "cancelled": cancelled,
                    "ended_without_outcome": total("jobs_ended_without_outcome"),
                },
                "success_rate": completed / decided if decided else None,
                "success_rate_95": wilson_reference(completed, decided),
                "print_hours": print_centi / 100,
                "paused_hours": sum(hundredths(item["paused_hours"]) for _, item in items) / 100,
                "filament_m": sum(hundredths(f) for f in filament) / 100 if filament else None,
                "print_hours_per_printer_week": print_centi / 100 / printer_weeks
                if printer_weeks
                else None,
                "errors": errors,
                "errors_per_100_print_hours": errors / (print_centi / 100) * 100
                if print_centi
                else None,
                "top_error_codes": [
                    {"code": code, "count": count}
                    for code, count in sorted(
                        codes[family, model].items(), key=lambda c: (-c[1], c[0])
                    )[:5]
                ],
            }
        )
    expected.sort(key=lambda entry: (-entry["printer_weeks"], entry["family"], entry["model"]))
    return expected


# ---------------------------------------------------------------------------------------------
# Tests


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    """The app in this process (conftest's `api`), refreshing the rollups before every answer."""
    settings = settings_for(database_url, **FRESH_ROLLUPS)
    with TestClient(create_app(settings), raise_server_exceptions=False) as http:
        yield Api(None, http)


def reliability(
    http: httpx.Client, url: str, key: str | None = ADMIN_KEY, **params: str
) -> httpx.Response:
    headers = {} if key is None else {"X-API-Key": key}
    return http.get(f"{url}/stats/reliability", headers=headers, params=params)


def submit_all(http: httpx.Client, url: str, generated: Generated) -> None:
    for installation_id, payload in generated.sent:
        response = http.post(
            f"{url}/submit",
            json=payload,
            headers={"X-API-Key": SUBMIT_KEY, "X-Installation-Secret": installation_id + "-secret"},
        )
        assert response.status_code == 200, response.text


@pytest.fixture
def seeded(database_url: str, tmp_path: Path) -> Iterator[tuple[httpx.Client, str, Generated]]:
    generated = generate()
    env = server_env(**FRESH_ROLLUPS, RECEIVER_RATE_LIMIT_PER_HOUR="1000")
    with run_receiver(database_url, tmp_path, env) as receiver, httpx.Client(timeout=30) as http:
        submit_all(http, receiver.url, generated)
        yield http, receiver.url, generated


def test_generated_data_covers_the_cases_that_matter() -> None:
    generated = generate()
    final = generated.final()
    assert len(generated.sent) > len(final)  # some periods were re-sent
    with_breakdown = [p for p in final if p.get("usage_by_model")]
    assert len(with_breakdown) > 100
    assert any("usage_by_model" not in p for p in final if p["schema_version"] == "1.1")
    weeks = Counter(
        (p["installation"]["installation_id"], monday_of_middle(p)) for p in with_breakdown
    )
    # 1.1 windows are whole ISO weeks: one per installation and week
    assert max(weeks.values()) == 1
    decided = [
        i["jobs_completed"] + i["jobs_failed"] + i["jobs_cancelled"]
        for p in with_breakdown
        for i in p["usage_by_model"]
    ]
    assert 0 in decided
    assert 1 in decided


def test_per_model_figures_equal_a_brute_force_computation(
    seeded: tuple[httpx.Client, str, Generated],
) -> None:
    http, url, generated = seeded
    for since, until in RANGES:
        response = reliability(http, url, since_week=since, until_week=until)
        assert response.status_code == 200, response.text
        answer = response.json()
        weeks = week_range(since, until, NOW)
        expected = brute_force(generated, weeks.since, weeks.until)
        assert (answer["since_week"], answer["until_week"]) == (since, until)
        assert answer["weeks"] == weeks.weeks
        assert [(m["family"], m["model"]) for m in answer["models"]] == [
            (m["family"], m["model"]) for m in expected
        ]
        assert len(expected) >= (1 if since == until else 6)
        for got, want in zip(answer["models"], expected, strict=True):
            assert _nested_equal(got, want)


def test_the_rollups_follow_re_sent_weeks_and_erasures(database_url: str, tmp_path: Path) -> None:
    """After the rollups were built: a GDPR erasure, then a re-sent week with another fleet (a model
    dropped, others added: the installation's next week with the dropped model now counts from an
    earlier previous week). Each time the answers equal the brute force over what is stored."""
    generated = generate(seed=SEED + 2, installations=10)
    env = server_env(**FRESH_ROLLUPS, RECEIVER_RATE_LIMIT_PER_HOUR="1000")
    with run_receiver(database_url, tmp_path, env) as receiver, httpx.Client(timeout=30) as http:

        def assert_answers_match(stored: Generated, ranges: list[tuple[str, str]]) -> None:
            for since, until in ranges:
                answer = reliability(http, receiver.url, since_week=since, until_week=until)
                weeks = week_range(since, until, NOW)
                expected = brute_force(stored, weeks.since, weeks.until)
                assert _nested_equal(answer.json()["models"], expected), (since, until)

        submit_all(http, receiver.url, generated)
        assert_answers_match(generated, RANGES)  # built
        weekly: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for payload in generated.final():
            if payload.get("usage_by_model"):
                weekly[payload["installation"]["installation_id"]].append(payload)
        changed, erased = sorted(weekly, key=lambda i: (-len(weekly[i]), i))[:2]
        deleted = http.delete(
            f"{receiver.url}/installation/{erased}", headers={"X-API-Key": ADMIN_KEY}
        )
        assert deleted.status_code == 200, deleted.text
        stored = Generated([(i, p) for i, p in generated.sent if i != erased])
        assert_answers_match(stored, RANGES)
        middle = sorted(weekly[changed], key=lambda p: p["period"]["start"])[1]
        fleet = {(item["family"], item["model"]): 1 for item in middle["usage_by_model"]}
        fleet.pop(min(fleet))
        fleet.update({key: 2 for key in MODELS if key not in fleet})
        resent = weekly_payload(
            random.Random(7), changed, fleet, datetime.fromisoformat(middle["period"]["start"])
        )
        submit_all(http, receiver.url, Generated([(changed, resent)]))
        stored.sent.append((changed, resent))
        # from the re-sent week on, the dropped model's next week is the installation's first
        assert_answers_match(
            stored, [*RANGES, (monday_of_middle(resent).strftime("%G-W%V"), "2026-W46")]
        )


def _nested_equal(got: Any, want: Any) -> bool:
    """pytest.approx does not recurse into nested dicts and lists; compare them here."""
    if isinstance(want, dict):
        assert isinstance(got, dict)
        assert got.keys() == want.keys(), (got, want)
        return all(_nested_equal(got[k], want[k]) for k in want)
    if isinstance(want, list):
        assert isinstance(got, list)
        assert len(got) == len(want), (got, want)
        return all(_nested_equal(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12), (got, want)
        return True
    assert got == want, (got, want)
    return True


def test_the_fixture_farm_by_hand(api: Api) -> None:
    assert api.submit(FARM).status_code == 200
    assert api.submit(OLD_11).status_code == 200  # no breakdown: not counted
    response = reliability(api.http, api.url, since_week="2026-W46", until_week="2026-W46")
    x1c, prusa = response.json()["models"]
    assert (x1c["family"], x1c["model"], prusa["family"], prusa["model"]) == (
        "bambu_lab",
        "X1C",
        "prusa",
        "unknown",
    )
    assert x1c["jobs"] == {
        "started": 24,
        "completed": 19,
        "failed": 3,
        "cancelled": 1,
        "ended_without_outcome": 1,
    }
    assert x1c["success_rate"] == 19 / 23
    assert x1c["success_rate_95"]["low"] < 19 / 23 < x1c["success_rate_95"]["high"]
    assert x1c["print_hours_per_printer_week"] == 131.25 / 2
    assert x1c["errors"] == 4
    assert x1c["errors_per_100_print_hours"] == pytest.approx(400 / 131.25)
    assert x1c["top_error_codes"] == [
        {"code": "0300_0100_0001_0001", "count": 3},
        {"code": "0500_0200_0002_0001", "count": 1},
    ]
    assert x1c["filament_m"] == 412.8
    assert prusa["filament_m"] is None
    assert prusa["errors"] == 0
    assert prusa["errors_per_100_print_hours"] == 0
    assert prusa["success_rate"] == 10 / 12
    other_week = reliability(api.http, api.url, since_week="2026-W45", until_week="2026-W45")
    assert other_week.json()["models"] == []


def test_reliability_is_for_admin_keys_with_bounded_weeks(api: Api) -> None:
    assert_error(reliability(api.http, api.url, key=None), 401, "missing_api_key")
    assert_error(reliability(api.http, api.url, key=SUBMIT_KEY), 403, "forbidden")
    for params in (
        {"since_week": "2024-W01", "until_week": "2026-W46"},
        {"since_week": "2026-W46", "until_week": "2026-W45"},
        {"since_week": "last week"},
        {"until_week": "2026-W99"},
    ):
        error = assert_error(reliability(api.http, api.url, **params), 400, "invalid_parameter")
        assert error["details"][0]["field"].startswith("query.")
    default = reliability(api.http, api.url)
    assert default.status_code == 200
    assert default.json()["weeks"] == 12


def test_sqlite_and_postgresql_answer_identically(postgres_url: str, tmp_path: Path) -> None:
    generated = generate(seed=SEED + 1, installations=8)
    answers: list[list[Any]] = []
    env = server_env(**FRESH_ROLLUPS, RECEIVER_RATE_LIMIT_PER_HOUR="1000")
    for url in (f"sqlite+aiosqlite:///{tmp_path / 'same.db'}", postgres_url):
        with run_receiver(url, tmp_path, env) as receiver, httpx.Client(timeout=30) as http:
            submit_all(http, receiver.url, generated)
            answers.append(
                [
                    reliability(http, receiver.url, since_week=since, until_week=until).json()
                    for since, until in RANGES
                ]
            )
    assert answers[0] == answers[1]
    assert answers[0][1]["models"]


def test_wilson_interval_is_honest_for_small_numbers() -> None:
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(1, 1) or (0.0, 0.0)
    assert low == pytest.approx(0.2065, abs=1e-4)
    assert high == 1.0
    # textbook values (Newcombe 1998, example: 81 of 263)
    low, high = wilson_interval(81, 263) or (0.0, 0.0)
    assert low == pytest.approx(0.2553, abs=1e-4)
    assert high == pytest.approx(0.3662, abs=1e-4)
    low, high = wilson_interval(0, 10) or (1.0, 1.0)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)


def test_week_range_is_bounded() -> None:
    weeks = week_range("2026-W40", "2026-W46", NOW)
    assert (weeks.since, weeks.until, weeks.weeks) == (date(2026, 9, 28), date(2026, 11, 9), 7)
    default = week_range(None, None, NOW)  # a Thursday: the last complete week is W47
    assert (default.since, default.until, default.weeks) == (
        date(2026, 8, 31),
        date(2026, 11, 16),
        12,
    )
    assert week_range("2024-W48", "2026-W48", NOW).weeks == 105
    for since, until in [
        ("2024-W47", "2026-W48"),  # 106 weeks
        ("2026-W46", "2026-W40"),  # reversed
        ("2026-W54", None),
        ("2026-46", None),
        ("2026-W4", None),
        ("2025-W53", None),  # 2025 has 52 ISO weeks
    ]:
        with pytest.raises(ApiError) as caught:
            week_range(since, until, NOW)
        assert caught.value.status == 400
        assert caught.value.code == "invalid_parameter"
