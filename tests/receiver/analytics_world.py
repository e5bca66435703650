"""Generated installations for the analytics tests: a fixed seed gives the same world every run.

Integration installations (schema 1.1) send one whole ISO week at a time, some as an older body without
the breakdown, some twice (the second copy replaces the first); Printernizer installations (schema
1.0) send rolling 7-day windows that overlap within a week. Installations join over time, skip weeks,
upgrade their version, and some go quiet. `World.stored()` is what the receiver keeps.
"""

import copy
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx

from tests.payloads import load_payloads
from tests.receiver.conftest import ADMIN_KEY, SUBMIT_KEY

VALID = load_payloads("valid")
FARM = VALID["integration-1.1-breakdown-farm"]
OLD_11 = VALID["integration-0.1.0-without-breakdown"]
OLD_10 = VALID["printernizer-1.0-example"]
WEEK = timedelta(weeks=1)

INTEGRATION_VERSIONS = ["0.1.0", "0.1.1", "0.2.0b1", "0.2.0", "0.10.0"]
PRINTERNIZER_VERSIONS = ["2.9.5", "2.41.0", "2.42.0"]
COUNTRIES = [
    ("DE", 30),
    ("US", 20),
    ("FR", 15),
    ("GB", 10),
    ("NL", 8),
    ("XX", 5),
    ("LU", 2),
    ("IS", 1),
]
MODES_11 = [("haos", 50), ("container", 25), ("core", 10), ("supervised", 5)]
MODES_10 = [("docker", 5), ("standalone", 3), ("pi", 1)]
MODELS = [
    ("bambu_lab", "X1C"),
    ("bambu_lab", "P1S"),
    ("bambu_lab", "A1MINI"),
    ("prusa", "unknown"),
    ("klipper", "unknown"),
    ("elegoo", "Centauri Carbon"),
]
FAMILIES_10 = ["bambu_lab", "prusa_core", "klipper"]
CODES = {
    "bambu_lab": ["0300_0100_0001_0001", "0500_0200_0002_0001", "0C00_0300"],
    "prusa": ["10101", "17505"],
    "klipper": ["mcu_shutdown"],
    "elegoo": ["E0103", "E0201"],
}
FILAMENT_KNOWN = {"bambu_lab", "elegoo"}
ENV = {
    "RECEIVER_RATE_LIMIT_PER_HOUR": "1000",
    "RECEIVER_ROLLUP_INTERVAL_SECONDS": "0",
    "RECEIVER_MAX_PERIOD_AGE_WEEKS": "1000",
    "RECEIVER_NEW_INSTALLATIONS_PER_ADDRESS_PER_DAY": "0",
    "RECEIVER_ADMIN_RATE_LIMIT_PER_MINUTE": "0",
}


def this_monday(now: datetime | None = None) -> date:
    today = (now or datetime.now(UTC)).date()
    return today - timedelta(days=today.weekday())


def at_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def iso_z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def weighted[T](rng: random.Random, choices: list[tuple[T, int]]) -> T:
    return rng.choices([value for value, _ in choices], [weight for _, weight in choices])[0]


@dataclass
class World:
    """What was sent, in order: (installation id, payload); and who was erased afterwards."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)

    def stored(self) -> list[tuple[int, dict[str, Any]]]:
        """(id order, payload) of the stored submissions: the last copy of each period keeps the
        id of its first (a re-send replaces it in place)."""
        first: dict[tuple[str, str, str], int] = {}
        last: dict[tuple[str, str, str], dict[str, Any]] = {}
        for index, (installation_id, payload) in enumerate(self.sent):
            key = (installation_id, payload["period"]["start"], payload["period"]["end"])
            first.setdefault(key, index)
            last[key] = payload
        return sorted(
            (first[key], payload) for key, payload in last.items() if key[0] not in self.deleted
        )


@dataclass
class Installation:
    installation_id: str
    legacy: bool
    country: str
    mode: str
    version: int
    fleet: dict[tuple[str, str], int]
    feature: bool
    first_week: int
    last_week: int


def _fleet(rng: random.Random, legacy: bool) -> dict[tuple[str, str], int]:
    size = weighted(rng, [(0, 1), (1, 6), (2, 5), (3, 3), (4, 2), (7, 2), (12, 1), (25, 1)])
    fleet: dict[tuple[str, str], int] = {}
    for _ in range(size):
        key = (rng.choice(FAMILIES_10), "unknown") if legacy else rng.choice(MODELS)
        fleet[key] = fleet.get(key, 0) + 1
    return fleet


def _model_usage(rng: random.Random, family: str, model: str, printers: int) -> dict[str, Any]:
    started = rng.randint(0, 3 + 6 * printers)
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
        "print_hours": rng.randint(0, 4000 * printers) / 100,
        "paused_hours": rng.randint(0, 300) / 100,
        "filament_m": rng.randint(0, 50000) / 100 if family in FILAMENT_KNOWN else None,
    }


def payload_11(
    rng: random.Random, who: Installation, monday: date, *, old_body: bool = False
) -> dict[str, Any]:
    payload = copy.deepcopy(OLD_11 if old_body else FARM)
    installation = payload["installation"]
    installation["installation_id"] = who.installation_id
    version = INTEGRATION_VERSIONS[who.version]
    installation["app_version"] = installation["integration_version"] = version
    installation["country_code"] = who.country
    installation["deployment_mode"] = who.mode
    start = at_midnight(monday)
    payload["period"] = {"start": iso_z(start), "end": iso_z(start + WEEK), "duration_days": 7}
    payload["submission_timestamp"] = iso_z(start + WEEK + timedelta(hours=2))
    by_family: dict[str, dict[str, int]] = {}
    for (family, model), printers in sorted(who.fleet.items()):
        by_family.setdefault(family, {})[model] = printers
    payload["printer_fleet"] = {
        "printer_count": sum(who.fleet.values()),
        "printer_types": sorted(by_family),
        "printer_type_counts": {f: sum(m.values()) for f, m in sorted(by_family.items())},
        "printer_model_counts": by_family,
    }
    usage = [_model_usage(rng, f, m, n) for (f, m), n in sorted(who.fleet.items())]
    errors: list[dict[str, Any]] = [
        {"family": f, "model": m, "code": code, "count": rng.randint(1, 4)}
        for (f, m) in sorted(who.fleet)
        for code in rng.sample(CODES[f], rng.randint(0, len(CODES[f])))
    ]
    stats = payload["usage_stats"]
    names = ["jobs_started", "jobs_completed", "jobs_failed", "jobs_cancelled"]
    if not old_body:
        names += ["jobs_ended_without_outcome", "active_printers"]
    for name in names:
        stats[name] = sum(item[name] for item in usage)
    stats["job_count"] = stats["jobs_completed"] + stats["jobs_failed"]
    stats["print_hours"] = round(sum(item["print_hours"] for item in usage), 2)
    stats["feature_usage"] = {"printernizer_server": who.feature}
    total = sum(error["count"] for error in errors) + rng.randint(0, 3)
    serious = rng.randint(0, total)
    payload["error_summary"] = {
        "total_errors": total,
        "severity_serious": serious,
        "severity_common": total - serious,
    }
    codes: dict[str, int] = {}
    for error in errors:
        key = f"{error['family']}:{error['code']}"
        codes[key] = codes.get(key, 0) + error["count"]
    payload["errors_by_code"] = codes
    if old_body:
        return payload
    stats["paused_hours"] = round(sum(item["paused_hours"] for item in usage), 2)
    filament = [item["filament_m"] for item in usage if item["filament_m"] is not None]
    stats["filament_m"] = round(sum(filament), 2) if filament else None
    payload["usage_by_model"] = usage
    payload["errors_by_model"] = errors
    return payload


def payload_10(rng: random.Random, who: Installation, end: datetime) -> dict[str, Any]:
    payload = copy.deepcopy(OLD_10)
    installation = payload["installation"]
    installation["installation_id"] = who.installation_id
    installation["app_version"] = PRINTERNIZER_VERSIONS[who.version]
    installation["country_code"] = who.country
    installation["deployment_mode"] = who.mode
    payload["period"] = {"start": iso_z(end - WEEK), "end": iso_z(end), "duration_days": 7}
    payload["submission_timestamp"] = iso_z(end)
    counts: dict[str, int] = {}
    for (family, _), printers in who.fleet.items():
        counts[family] = counts.get(family, 0) + printers
    payload["printer_fleet"] = {
        "printer_count": sum(counts.values()),
        "printer_types": sorted(counts),
        "printer_type_counts": dict(sorted(counts.items())),
    }
    stats = payload["usage_stats"]
    stats["job_count"] = rng.randint(0, 60)
    stats["feature_usage"] = {
        "library_enabled": who.feature,
        "timelapse_enabled": rng.random() < 0.5,
        "watch_folders_enabled": False,
    }
    shape = rng.random()
    if shape < 0.2:
        payload["error_summary"] = {}
    elif shape < 0.4:  # types without a total: the total is their sum
        payload["error_summary"] = {"connection_error": rng.randint(0, 5), "upload_error": 1}
    else:
        payload["error_summary"] = {"total_errors": rng.randint(0, 9)}
    return payload


def new_installation(rng: random.Random, weeks: int) -> Installation:
    legacy = rng.random() < 0.2
    first = min(int(rng.expovariate(1 / (weeks / 2))), weeks - 1) if rng.random() < 0.6 else 0
    first = weeks - 1 - first if rng.random() < 0.5 else first
    last = weeks - 1 if rng.random() < 0.75 else rng.randint(first, weeks - 1)
    ladder = PRINTERNIZER_VERSIONS if legacy else INTEGRATION_VERSIONS
    return Installation(
        installation_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        legacy=legacy,
        country=weighted(rng, COUNTRIES),
        mode=weighted(rng, MODES_10 if legacy else MODES_11),
        version=rng.randint(0, len(ladder) // 2),
        fleet=_fleet(rng, legacy),
        feature=rng.random() < 0.3,
        first_week=first,
        last_week=last,
    )


def generate(
    seed: int, installations: int = 40, weeks: int = 20, last_monday: date | None = None
) -> World:
    """`installations` reporting over the `weeks` ISO weeks ending with `last_monday` (default: the
    last complete week)."""
    rng = random.Random(seed)
    last_monday = last_monday or this_monday() - WEEK
    first_monday = last_monday - (weeks - 1) * WEEK
    world = World()
    for _ in range(installations):
        who = new_installation(rng, weeks)
        ladder = PRINTERNIZER_VERSIONS if who.legacy else INTEGRATION_VERSIONS
        for week in range(who.first_week, who.last_week + 1):
            monday = first_monday + week * WEEK
            if week > who.first_week and rng.random() < 0.1:
                continue  # a week without a report
            if rng.random() < 0.15:
                who.version = min(who.version + 1, len(ladder) - 1)
            if rng.random() < 0.05:
                who.feature = not who.feature
            if who.legacy:
                for _ in range(rng.randint(1, 3)):  # overlapping rolling windows of one week
                    end = at_midnight(monday) + timedelta(
                        days=rng.randint(1, 7), seconds=-rng.randint(0, 80000)
                    )
                    world.sent.append((who.installation_id, payload_10(rng, who, end)))
                continue
            old_body = rng.random() < 0.08
            if rng.random() < 0.1:  # sent twice: the second copy replaces the first
                world.sent.append((who.installation_id, payload_11(rng, who, monday)))
            world.sent.append(
                (who.installation_id, payload_11(rng, who, monday, old_body=old_body))
            )
    ids = sorted({installation_id for installation_id, _ in world.sent})
    world.deleted = {rng.choice(ids)} if ids else set()
    return world


def secret_of(installation_id: str) -> str:
    return (installation_id.replace("-", "") * 2)[:43]


def submit_all(http: httpx.Client, url: str, world: World) -> None:
    for installation_id, payload in world.sent:
        headers = {"X-API-Key": SUBMIT_KEY}
        if payload["schema_version"] != "1.0":
            headers["X-Installation-Secret"] = secret_of(installation_id)
        response = http.post(f"{url}/submit", json=payload, headers=headers)
        assert response.status_code == 200, response.text


def erase_deleted(http: httpx.Client, url: str, world: World) -> None:
    """Erase the deleted installations (GDPR) with the admin key."""
    for installation_id in sorted(world.deleted):
        response = http.delete(
            f"{url}/installation/{installation_id}", headers={"X-API-Key": ADMIN_KEY}
        )
        assert response.status_code == 200, response.text
