"""A simulated population of installations and the payloads they send, week by week (pure, seeded).

What it models, so every chart of the dashboard has something to show:

- growth: installations arrive at an increasing rate, some go quiet for good, most miss a week now and then;
- two kinds of senders: the Home Assistant integration (schema 1.1, weekly ISO weeks; its per-model
  breakdown only from release 0.8.0 on) and Printernizer (schema 1.0, rolling 7-day windows every 7, 3 or
  1 days, so one installation's windows overlap);
- releases adopted with a lag (some installations never upgrade), a release `0.10.0` that is newer than
  `0.9.1` by semantic ordering but not by string ordering;
- deployment modes, countries, Home Assistant versions, fleets of one to forty printers of the real
  families and models, jobs with per-model success rates, print hours, pauses, filament, error codes;
- feature adoption that grows over time;
- planted anomalies (`planted_anomalies`): a drop in active installations, an error-rate spike, a surge of
  submissions, and a release whose failure rate is far above the previous one's.

The same seed and `end` give the same submissions. Nothing here touches a database.
"""

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

# Integration releases: (version, share of the timeline at which it appears). The last one is planted
# with a failure bug (see `VERSION_BUG_FACTOR`); it appears `BUGGY_RELEASE_WEEKS_AGO` weeks before the end.
INTEGRATION_RELEASES = (
    ("0.5.0", 0.0),
    ("0.6.0", 0.18),
    ("0.7.0", 0.36),
    ("0.8.0", 0.55),
    ("0.9.0", 0.72),
    ("0.9.1", 0.82),
)
BUGGY_RELEASE = "0.10.0"
BUGGY_RELEASE_WEEKS_AGO = 4
FIRST_BREAKDOWN_RELEASE = "0.8.0"
PRINTERNIZER_RELEASES = (
    ("2.36.0", 0.0),
    ("2.37.0", 0.2),
    ("2.38.1", 0.4),
    ("2.40.0", 0.6),
    ("2.41.0", 0.75),
    ("2.42.0", 0.9),
)

# Planted anomalies, in weeks before the end (1 = the last complete week).
DROP_WEEKS_AGO = 2
ERROR_SPIKE_WEEKS_AGO = 6
SURGE_WEEKS_AGO = 9
DROP_REPORT_PROBABILITY = 0.4  # e.g. the receiver's certificate expired for a few days
ERROR_SPIKE_FACTOR = 6.0
ERROR_SPIKE_CODE = ("bambu_lab", "0700_2000_0002_0001")
SURGE_RESENDS = 5
VERSION_BUG_FACTOR = 3.5

REPORT_PROBABILITY = 0.95
INTEGRATION_SHARE = 0.72

COUNTRIES = (
    ("DE", 27.0),
    ("US", 17.0),
    ("GB", 8.0),
    ("FR", 6.0),
    ("NL", 6.0),
    ("AT", 3.0),
    ("CH", 3.0),
    ("IT", 3.0),
    ("ES", 3.0),
    ("PL", 3.0),
    ("CA", 3.0),
    ("AU", 2.5),
    ("SE", 2.0),
    ("BE", 2.0),
    ("DK", 1.5),
    ("CZ", 1.5),
    ("NO", 1.0),
    ("FI", 1.0),
    ("JP", 1.0),
    ("BR", 1.0),
    ("NZ", 0.5),
    ("XX", 2.0),
)
INTEGRATION_MODES = (
    ("haos", 62.0),
    ("container", 21.0),
    ("core", 7.0),
    ("supervised", 5.0),
    ("unknown", 5.0),
)
PRINTERNIZER_MODES = (("docker", 55.0), ("standalone", 20.0), ("pi", 15.0), ("homeassistant", 10.0))


@dataclass(frozen=True, slots=True)
class Model:
    family: str
    model: str
    weight: float
    success: float  # completed / decided jobs
    errors_per_100h: float
    filament: bool  # the integration reports filament for it
    codes: tuple[str, ...]


_BAMBU_CODES = ("0300_0100_0001_0001", "0500_0200_0002_0001", "0700_2000_0002_0001")
_PRUSA_CODES = ("12201", "13303", "17505")
_KLIPPER_CODES = ("mcu_shutdown", "thermal_runaway", "move_out_of_range")
_OCTOPRINT_CODES = ("serial_timeout", "thermal_runaway")
_ELEGOO_CODES = ("E0101", "E0203")

MODELS = (
    Model("bambu_lab", "X1C", 11, 0.93, 2.6, True, _BAMBU_CODES),
    Model("bambu_lab", "P1S", 14, 0.92, 2.9, True, _BAMBU_CODES),
    Model("bambu_lab", "A1", 10, 0.91, 3.1, True, _BAMBU_CODES),
    Model("bambu_lab", "A1MINI", 8, 0.90, 3.4, True, _BAMBU_CODES),
    Model("bambu_lab", "P1P", 4, 0.89, 3.8, True, _BAMBU_CODES),
    Model("bambu_lab", "H2D", 3, 0.95, 2.0, True, _BAMBU_CODES),
    Model("bambu_lab", "X1E", 0.6, 0.96, 1.8, True, _BAMBU_CODES),
    Model("prusa", "unknown", 17, 0.92, 2.2, False, _PRUSA_CODES),
    Model("klipper", "unknown", 13, 0.87, 3.9, False, _KLIPPER_CODES),
    Model("octoprint", "unknown", 10, 0.84, 4.6, False, _OCTOPRINT_CODES),
    Model("elegoo", "Centauri Carbon", 4, 0.89, 3.3, False, _ELEGOO_CODES),
    Model("elegoo", "Neptune 4 Pro", 2.5, 0.82, 5.2, False, _ELEGOO_CODES),
    Model("elegoo", "Saturn 4 Ultra", 0.8, 0.86, 2.8, False, _ELEGOO_CODES),
)
PRINTERNIZER_MODELS = tuple(model for model in MODELS if model.family in ("bambu_lab", "prusa"))
# Printernizer (schema 1.0) names its printer types differently.
PRINTERNIZER_TYPES = {"bambu_lab": "bambu_lab", "prusa": "prusa_core"}
FLEET_SIZES = ((1, 44.0), (2, 24.0), (3, 11.0), (4, 7.0), (5, 4.0), (8, 5.0), (14, 3.0), (30, 2.0))


@dataclass(frozen=True, slots=True)
class DemoConfig:
    """`installations` that ever report, over `weeks` ISO weeks ending with the week before `end`."""

    installations: int = 300
    weeks: int = 78
    seed: int = 2026
    end: date | None = None  # a Monday; default: the Monday of the current week (UTC)
    churn_share: float = 0.22  # installations that go quiet for good at some point
    mean_life_weeks: float = 26.0  # how long those report, on average

    def end_monday(self) -> date:
        end = self.end or datetime.now(UTC).date()
        return end - timedelta(days=end.weekday())

    def start_monday(self) -> date:
        return self.end_monday() - timedelta(weeks=self.weeks)


@dataclass(frozen=True, slots=True)
class PlantedAnomaly:
    kind: str
    week: date  # Monday of the ISO week
    description: str


@dataclass(frozen=True, slots=True)
class DemoSubmission:
    received_at: datetime
    payload: dict[str, Any]
    secret: str | None  # the ownership secret a 1.1 client sends (None for schema 1.0)


@dataclass(slots=True)
class _Installation:
    installation_id: str
    secret: str | None
    integration: bool
    country: str
    mode: str
    python_version: str
    arrival: int
    departure: int
    printers: list[Model]
    version: int  # index into the release list
    upgrade_probability: float
    activity: float  # jobs per printer and week
    interval_days: int  # schema 1.0: a 7-day window every this many days
    offset_hours: float
    ha_lag_months: int
    server_feature_week: int  # integration: week from which the Printernizer server source is on
    # schema 1.0: feature -> the week it was switched on
    features: dict[str, float] = field(default_factory=dict)


def _pick[T](rng: random.Random, choices: tuple[tuple[T, float], ...]) -> T:
    return rng.choices([value for value, _ in choices], [weight for _, weight in choices])[0]


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def _binomial(rng: random.Random, trials: int, probability: float) -> int:
    if trials > 50:
        mean = trials * probability
        spread = math.sqrt(max(mean * (1 - probability), 1e-9))
        return min(trials, max(0, round(rng.gauss(mean, spread))))
    return sum(1 for _ in range(trials) if rng.random() < probability)


def _model(rng: random.Random, models: tuple[Model, ...]) -> Model:
    return rng.choices(models, [model.weight for model in models])[0]


def _release_weeks(config: DemoConfig, releases: tuple[tuple[str, float], ...]) -> list[int]:
    return [min(config.weeks - 1, round(share * config.weeks)) for _, share in releases]


class DemoWorld:
    """The simulated installations; `submissions()` yields what they send, oldest week first."""

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self.start = config.start_monday()
        self.rng = random.Random(config.seed)  # noqa: S311 (a reproducible simulation)
        weeks = config.weeks
        self.integration_releases = [
            *INTEGRATION_RELEASES,
            (BUGGY_RELEASE, (weeks - BUGGY_RELEASE_WEEKS_AGO) / weeks),
        ]
        self.integration_release_weeks = [
            max(0, round(share * weeks)) for _, share in self.integration_releases
        ]
        self.printernizer_release_weeks = _release_weeks(config, PRINTERNIZER_RELEASES)
        self.installations = [self._new_installation() for _ in range(config.installations)]

    # -- the population ------------------------------------------------------------------------

    def _new_installation(self) -> _Installation:
        rng, weeks = self.rng, self.config.weeks
        integration = rng.random() < INTEGRATION_SHARE
        # A tenth is there from the start; the rest arrive at a rate growing with time.
        arrival = 0 if rng.random() < 0.1 else min(weeks - 1, int(weeks * rng.random() ** 0.8))
        departure = weeks + 1
        if rng.random() < self.config.churn_share:
            departure = arrival + 1 + int(rng.expovariate(1 / self.config.mean_life_weeks))
        models = MODELS if integration else PRINTERNIZER_MODELS
        printers = [_model(rng, models) for _ in range(_pick(rng, FLEET_SIZES))]
        if len(printers) > 2 and rng.random() < 0.6:  # farms tend to standardise on a few models
            printers = [printers[0]] * (len(printers) // 2) + printers[len(printers) // 2 :]
        release_weeks = (
            self.integration_release_weeks if integration else self.printernizer_release_weeks
        )
        version = max(i for i, week in enumerate(release_weeks) if week <= arrival)
        speed = rng.random()
        return _Installation(
            installation_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            secret=rng.randbytes(32).hex() if integration else None,
            integration=integration,
            country=_pick(rng, COUNTRIES),
            mode=_pick(rng, INTEGRATION_MODES if integration else PRINTERNIZER_MODES),
            python_version=rng.choice(("3.13.9", "3.14.2", "3.14.3"))
            if integration
            else rng.choice(("3.11.9", "3.12.7", "3.12.10")),
            arrival=arrival,
            departure=departure,
            printers=printers,
            version=version,
            upgrade_probability=0.0 if speed < 0.08 else (0.45 if speed > 0.6 else 0.12),
            activity=rng.lognormvariate(math.log(5.5), 0.5) * (2.2 if len(printers) >= 8 else 1.0),
            interval_days=_pick(rng, ((7, 78.0), (3, 12.0), (1, 10.0))),
            offset_hours=rng.uniform(0, 23.5),
            ha_lag_months=_pick(rng, ((0, 30.0), (1, 35.0), (2, 20.0), (4, 10.0), (8, 5.0))),
            server_feature_week=arrival + int(rng.expovariate(1 / 60)),
            features={
                name: arrival + rng.expovariate(1 / mean_weeks)
                for name, mean_weeks in (
                    ("library_enabled", 4),
                    ("timelapse_enabled", 30),
                    ("watch_folders_enabled", 90),
                )
            },
        )

    def _evolve(self, installation: _Installation, week: int) -> None:
        rng = self.rng
        release_weeks = (
            self.integration_release_weeks
            if installation.integration
            else self.printernizer_release_weeks
        )
        newest = max(i for i, release_week in enumerate(release_weeks) if release_week <= week)
        if installation.version < newest and rng.random() < installation.upgrade_probability:
            installation.version = newest
        if rng.random() < 0.012:
            models = MODELS if installation.integration else PRINTERNIZER_MODELS
            installation.printers.append(_model(rng, models))
        elif len(installation.printers) > 1 and rng.random() < 0.005:
            installation.printers.pop(rng.randrange(len(installation.printers)))

    # -- what one installation sends for one week ---------------------------------------------

    def _report_probability(self, week: int) -> float:
        return (
            DROP_REPORT_PROBABILITY
            if week == self.config.weeks - DROP_WEEKS_AGO
            else REPORT_PROBABILITY
        )

    def _usage(
        self, installation: _Installation, week: int, version: str
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Jobs, hours and errors per (family, model) for one week."""
        rng = self.rng
        bug = VERSION_BUG_FACTOR if version == BUGGY_RELEASE else 1.0
        spike = week == self.config.weeks - ERROR_SPIKE_WEEKS_AGO
        per_model: dict[tuple[str, str], dict[str, Any]] = {}
        for printer in installation.printers:
            row = per_model.setdefault(
                (printer.family, printer.model),
                {
                    "model": printer,
                    "printers": 0,
                    "active_printers": 0,
                    "jobs_started": 0,
                    "jobs_completed": 0,
                    "jobs_failed": 0,
                    "jobs_cancelled": 0,
                    "jobs_ended_without_outcome": 0,
                    "print_hours": 0.0,
                    "paused_hours": 0.0,
                    "filament_m": 0.0,
                    "errors": {},
                },
            )
            row["printers"] += 1
            jobs = _poisson(rng, installation.activity) if rng.random() < 0.88 else 0
            if jobs == 0:
                continue
            row["active_printers"] += 1
            no_outcome = _binomial(rng, jobs, 0.02)
            decided = jobs - no_outcome
            failure = min(0.9, (1 - printer.success) * bug)
            completed = _binomial(rng, decided, 1 - failure)
            failed = _binomial(rng, decided - completed, 0.62)
            hours = sum(rng.lognormvariate(math.log(2.4), 0.7) for _ in range(jobs))
            hours = min(hours, 160.0)
            row["jobs_started"] += jobs
            row["jobs_completed"] += completed
            row["jobs_failed"] += failed
            row["jobs_cancelled"] += decided - completed - failed
            row["jobs_ended_without_outcome"] += no_outcome
            row["print_hours"] += hours
            row["paused_hours"] += hours * 0.02 * rng.random()
            row["filament_m"] += hours * rng.uniform(7, 13)
            error_mean = printer.errors_per_100h * hours / 100 * (1.0 + (bug - 1.0) / 2)
            for code in printer.codes:
                count = _poisson(rng, error_mean / len(printer.codes))
                if spike and (printer.family, code) == ERROR_SPIKE_CODE:
                    count += _poisson(rng, ERROR_SPIKE_FACTOR * max(hours, 5.0) / 10)
                if count:
                    row["errors"][code] = row["errors"].get(code, 0) + count
        return per_model

    def _payload_11(
        self, installation: _Installation, week: int, monday: date, sent: datetime
    ) -> dict[str, Any]:
        rng = self.rng
        version = self.integration_releases[installation.version][0]
        with_breakdown = _semver(version) >= _semver(FIRST_BREAKDOWN_RELEASE)
        usage = self._usage(installation, week, version)
        models_out, errors_out = [], []
        totals: dict[str, float] = dict.fromkeys(
            (
                "active_printers",
                "jobs_started",
                "jobs_completed",
                "jobs_failed",
                "jobs_cancelled",
                "jobs_ended_without_outcome",
            ),
            0,
        )
        print_hours = paused_hours = filament = 0.0
        has_filament = False
        errors_by_code: dict[str, int] = {}
        for (family, model_name), row in sorted(usage.items()):
            item = {
                "family": family,
                "model": model_name,
                "printers": row["printers"],
                **{name: row[name] for name in totals},
                "print_hours": round(row["print_hours"], 2),
                "paused_hours": round(row["paused_hours"], 2),
                "filament_m": round(row["filament_m"], 2) if row["model"].filament else None,
            }
            for name in totals:
                totals[name] += row[name]
            print_hours += item["print_hours"]
            paused_hours += item["paused_hours"]
            if item["filament_m"] is not None:
                has_filament = True
                filament += item["filament_m"]
            models_out.append(item)
            for code, count in sorted(row["errors"].items()):
                errors_out.append(
                    {"family": family, "model": model_name, "code": code, "count": count}
                )
                key = f"{family}:{code}"
                errors_by_code[key] = errors_by_code.get(key, 0) + count
        total_errors = sum(errors_by_code.values())
        serious = _binomial(rng, total_errors, 0.25)
        year, month = _months_before(sent.date(), installation.ha_lag_months)
        usage_stats: dict[str, Any] = {
            "job_count": int(totals["jobs_completed"] + totals["jobs_failed"]),
            "jobs_started": int(totals["jobs_started"]),
            "jobs_completed": int(totals["jobs_completed"]),
            "jobs_failed": int(totals["jobs_failed"]),
            "jobs_cancelled": int(totals["jobs_cancelled"]),
            "print_hours": round(print_hours, 2),
            "file_count": None,
            "upload_count": None,
            "uptime_hours": rng.choice((168, 168, 168, 167, 164, 150, 131)),
            "printer_online_hours": round(
                sum(rng.uniform(60, 168) for _ in installation.printers), 2
            ),
            "feature_usage": {"printernizer_server": week >= installation.server_feature_week},
        }
        payload: dict[str, Any] = {
            "schema_version": "1.1",
            "submission_timestamp": _iso(sent),
            "installation": {
                "installation_id": installation.installation_id,
                "first_seen": _iso(self._monday(installation.arrival)),
                "app_version": version,
                "integration_version": version,
                "ha_version": f"{year}.{month}.{rng.randrange(0, 4)}",
                "python_version": installation.python_version,
                "platform": "linux",
                "deployment_mode": installation.mode,
                "country_code": installation.country,
                "data_source": "home_assistant+printernizer"
                if usage_stats["feature_usage"]["printernizer_server"]
                else "home_assistant",
            },
            "period": {
                "start": _iso(_midnight(monday)),
                "end": _iso(_midnight(monday + timedelta(weeks=1))),
                "duration_days": 7,
            },
            "printer_fleet": _fleet(installation.printers, with_models=True),
            "usage_stats": usage_stats,
            "error_summary": {
                "total_errors": total_errors,
                "severity_serious": serious,
                "severity_common": total_errors - serious,
            },
            "errors_by_code": errors_by_code,
        }
        if with_breakdown:
            usage_stats["jobs_ended_without_outcome"] = int(totals["jobs_ended_without_outcome"])
            usage_stats["paused_hours"] = round(paused_hours, 2)
            usage_stats["filament_m"] = round(filament, 2) if has_filament else None
            usage_stats["active_printers"] = int(totals["active_printers"])
            payload["usage_by_model"] = models_out[:64]
            payload["errors_by_model"] = errors_out[:64]
        return payload

    def _payload_10(
        self, installation: _Installation, week: int, window_end: datetime
    ) -> dict[str, Any]:
        rng = self.rng
        usage = self._usage(installation, week, "")
        completed = sum(row["jobs_completed"] for row in usage.values())
        failed = sum(row["jobs_failed"] for row in usage.values())
        errors = sum(sum(row["errors"].values()) for row in usage.values())
        fleet = _fleet(installation.printers, with_models=False)
        fleet["printer_types"] = sorted({PRINTERNIZER_TYPES[t] for t in fleet["printer_types"]})
        fleet["printer_type_counts"] = {
            PRINTERNIZER_TYPES[family]: count
            for family, count in fleet["printer_type_counts"].items()
        }
        return {
            "schema_version": "1.0",
            "submission_timestamp": _iso(window_end),
            "installation": {
                "installation_id": installation.installation_id,
                "first_seen": _iso(self._monday(installation.arrival)),
                "app_version": PRINTERNIZER_RELEASES[installation.version][0],
                "python_version": installation.python_version,
                "platform": "linux",
                "deployment_mode": installation.mode,
                "country_code": installation.country,
            },
            "period": {
                "start": _iso(window_end - timedelta(days=7)),
                "end": _iso(window_end),
                "duration_days": 7,
            },
            "printer_fleet": fleet,
            "usage_stats": {
                "job_count": completed + failed,
                "file_count": _poisson(rng, 3 + completed / 2),
                "upload_count": _poisson(rng, 1.5),
                "uptime_hours": rng.choice((168, 168, 166, 160, 140)),
                "feature_usage": {
                    name: week >= switched_on for name, switched_on in installation.features.items()
                },
            },
            "error_summary": {"total_errors": errors},
        }

    # -- the timeline -------------------------------------------------------------------------

    def _monday(self, week: int) -> datetime:
        return _midnight(self.start + timedelta(weeks=week))

    def week_submissions(self, week: int, now: datetime) -> list[DemoSubmission]:
        """What arrives for ISO week `week` (0 = the first), ordered by arrival; none after `now`."""
        rng = self.rng
        monday = self.start + timedelta(weeks=week)
        out: list[DemoSubmission] = []
        report = self._report_probability(week)
        surge = week == self.config.weeks - SURGE_WEEKS_AGO
        for installation in self.installations:
            if not installation.arrival <= week < installation.departure:
                continue
            self._evolve(installation, week)
            if rng.random() >= report:
                continue
            if installation.integration:
                sent = _midnight(monday + timedelta(weeks=1)) + timedelta(
                    hours=installation.offset_hours
                )
                out.append(
                    DemoSubmission(
                        sent,
                        self._payload_11(installation, week, monday, sent),
                        installation.secret,
                    )
                )
                continue
            # Schema 1.0: a rolling 7-day window every `interval_days`, ending in this week.
            first_end = _midnight(monday) + timedelta(hours=installation.offset_hours)
            ends = [
                first_end + timedelta(days=day) for day in range(0, 7, installation.interval_days)
            ]
            if surge:  # a client bug re-sends each window several times with shifted periods
                ends += [
                    end + timedelta(minutes=7 * resend)
                    for end in ends
                    for resend in range(1, SURGE_RESENDS + 1)
                ]
            for end in ends:
                received = end + timedelta(minutes=rng.uniform(1, 90))
                out.append(
                    DemoSubmission(received, self._payload_10(installation, week, end), None)
                )
        out = [submission for submission in out if submission.received_at <= now]
        out.sort(key=lambda submission: submission.received_at)
        return out

    def submissions(self, now: datetime | None = None) -> Iterator[list[DemoSubmission]]:
        """One list per week, oldest first."""
        moment = now or datetime.now(UTC)
        for week in range(self.config.weeks):
            yield self.week_submissions(week, moment)


def planted_anomalies(config: DemoConfig) -> list[PlantedAnomaly]:
    """What `DemoWorld` plants, for the CLI's summary and for tests of anomaly detection."""
    end = config.end_monday()

    def weeks_ago(weeks: int) -> date:
        return end - timedelta(weeks=weeks)

    family, code = ERROR_SPIKE_CODE
    return [
        PlantedAnomaly(
            "submission_surge",
            weeks_ago(SURGE_WEEKS_AGO),
            f"Printernizer clients re-send every window {SURGE_RESENDS} more times",
        ),
        PlantedAnomaly(
            "error_spike",
            weeks_ago(ERROR_SPIKE_WEEKS_AGO),
            f"{family} error {code} about {ERROR_SPIKE_FACTOR:g}x as often as usual",
        ),
        PlantedAnomaly(
            "version_failure",
            weeks_ago(BUGGY_RELEASE_WEEKS_AGO),
            f"release {BUGGY_RELEASE} fails jobs about {VERSION_BUG_FACTOR:g}x as often as 0.9.1",
        ),
        PlantedAnomaly(
            "installation_drop",
            weeks_ago(DROP_WEEKS_AGO),
            f"only {DROP_REPORT_PROBABILITY:.0%} of installations report",
        ),
    ]


def _fleet(printers: list[Model], *, with_models: bool) -> dict[str, Any]:
    type_counts: dict[str, int] = {}
    model_counts: dict[str, dict[str, int]] = {}
    for printer in printers:
        type_counts[printer.family] = type_counts.get(printer.family, 0) + 1
        models = model_counts.setdefault(printer.family, {})
        models[printer.model] = models.get(printer.model, 0) + 1
    fleet: dict[str, Any] = {
        "printer_count": len(printers),
        "printer_types": sorted(type_counts),
        "printer_type_counts": dict(sorted(type_counts.items())),
    }
    if with_models:
        fleet["printer_model_counts"] = {
            family: dict(sorted(models.items())) for family, models in sorted(model_counts.items())
        }
    return fleet


def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _months_before(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 - months
    return index // 12, index % 12 + 1


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
