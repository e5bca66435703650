"""The brute-force reference for the analytics endpoints: plain Python over the generated payloads,
written from the definitions in docs/receiver.md without the receiver's code (only the Wilson
interval's textbook form is shared with the reliability test)."""

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from packaging.version import InvalidVersion, Version

from tests.receiver.analytics_world import World
from tests.receiver.test_reliability import wilson_reference

WEEK = timedelta(weeks=1)
BUCKETS = [("0", 0, 0), ("1", 1, 1), ("2", 2, 2), ("3-4", 3, 4), ("5-9", 5, 9), ("10-19", 10, 19)]
OUTCOMES = ("jobs_started", "jobs_completed", "jobs_failed", "jobs_cancelled")


def iso(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(UTC)


def div(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def centi(value: float | None) -> int:
    return 0 if value is None else round(value * 100)


@dataclass
class Report:
    order: int
    installation_id: str
    period_end: datetime
    week: date
    payload: dict[str, Any]

    @property
    def product(self) -> str:
        return "printernizer" if self.payload["schema_version"] == "1.0" else "integration"

    @property
    def version(self) -> str:
        return str(self.payload["installation"]["app_version"])

    @property
    def stats(self) -> dict[str, Any]:
        return dict(self.payload["usage_stats"])

    @property
    def errors(self) -> int:
        summary = self.payload.get("error_summary") or {}
        return int(summary["total_errors"]) if "total_errors" in summary else sum(summary.values())

    def printers(self) -> dict[tuple[str, str], int]:
        fleet = self.payload["printer_fleet"]
        if "printer_model_counts" in fleet:
            found = {
                (family, model): n
                for family, models in fleet["printer_model_counts"].items()
                for model, n in models.items()
            }
        else:
            found = {(f, "unknown"): n for f, n in fleet.get("printer_type_counts", {}).items()}
        return {key: n for key, n in found.items() if n > 0}


def attributed_week(end: datetime) -> date:
    last_day = (end - timedelta(microseconds=1)).date()
    return last_day - timedelta(days=last_day.weekday())


def version_order(version: str) -> tuple[int, Any]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


class Reference:
    def __init__(self, world: World, now: datetime) -> None:
        self.now = now
        reports = []
        for order, payload in world.stored():
            end = parse(payload["period"]["end"])
            reports.append(
                Report(
                    order,
                    payload["installation"]["installation_id"],
                    end,
                    attributed_week(end),
                    payload,
                )
            )
        self.reports = reports
        counted: dict[tuple[str, date], Report] = {}
        for report in reports:
            key = (report.installation_id, report.week)
            best = counted.get(key)
            if best is None or (report.period_end, report.order) > (best.period_end, best.order):
                counted[key] = report
        self.counted = counted
        self.weeks_of: dict[str, list[date]] = defaultdict(list)
        for installation_id, week in counted:
            self.weeks_of[installation_id].append(week)

    # -- ranges ----------------------------------------------------------------------------------

    @staticmethod
    def mondays(until: date, weeks: int) -> list[date]:
        return [until - (weeks - 1 - index) * WEEK for index in range(weeks)]

    def in_week(self, monday: date) -> list[Report]:
        return [report for (_, week), report in self.counted.items() if week == monday]

    def latest(self, until: date) -> list[Report]:
        """The active installations' latest counted reports in the 4 weeks ending with `until`."""
        found: dict[str, Report] = {}
        for (installation_id, week), report in self.counted.items():
            if until - 3 * WEEK <= week <= until and (
                installation_id not in found or week > found[installation_id].week
            ):
                found[installation_id] = report
        return list(found.values())

    @staticmethod
    def header(until: date, weeks: int) -> dict[str, Any]:
        return {
            "since_week": iso(until - (weeks - 1) * WEEK),
            "until_week": iso(until),
            "weeks": weeks,
        }

    # -- endpoints -------------------------------------------------------------------------------

    def installations(self, until: date, weeks: int) -> dict[str, Any]:
        last_end: dict[str, datetime] = {}
        for report in self.reports:
            seen = last_end.get(report.installation_id)
            if seen is None or report.period_end > seen:
                last_end[report.installation_id] = report.period_end
        first = Counter(min(weeks_) for weeks_ in self.weeks_of.values())
        last = Counter(max(weeks_) for weeks_ in self.weeks_of.values())
        series: list[dict[str, Any]] = [
            {
                "week": iso(monday),
                "week_start": monday.isoformat(),
                "active": len(self.in_week(monday)),
                "new": first[monday],
                "gone_quiet": last[monday - WEEK],
            }
            for monday in self.mondays(until, weeks)
        ]
        active = [entry["active"] for entry in series]
        slope = (
            statistics.linear_regression(range(len(active)), active).slope
            if len(active) > 1
            else None
        )
        return {
            **self.header(until, weeks),
            "total": len(last_end),
            "active_7d": sum(end >= self.now - timedelta(days=7) for end in last_end.values()),
            "active_30d": sum(end >= self.now - timedelta(days=30) for end in last_end.values()),
            "series": series,
            "growth": {
                "first": active[0],
                "last": active[-1],
                "change": active[-1] - active[0],
                "change_rate": div(active[-1] - active[0], active[0]),
                "weekly_slope": slope,
            },
        }

    def _shares(
        self,
        reports: list[Report],
        key: Callable[[Report], tuple[str, ...]],
        names: tuple[str, ...],
        order: Callable[[dict[str, Any]], Any],
    ) -> list[dict[str, Any]]:
        counts = Counter(key(report) for report in reports)
        entries = [
            {
                **dict(zip(names, value, strict=True)),
                "installations": n,
                "share": n / len(reports),
            }
            for value, n in counts.items()
        ]
        return sorted(entries, key=order)

    def _distribution(
        self,
        until: date,
        weeks: int,
        key: Callable[[Report], tuple[str, ...]],
        names: tuple[str, ...],
        plural: str,
        order: Callable[[dict[str, Any]], Any],
    ) -> dict[str, Any]:
        latest = self.latest(until)
        return {
            **self.header(until, weeks),
            "active_installations": len(latest),
            "current": self._shares(latest, key, names, order),
            "series": [
                {
                    "week": iso(monday),
                    "active": len(self.in_week(monday)),
                    plural: self._shares(self.in_week(monday), key, names, order),
                }
                for monday in self.mondays(until, weeks)
            ],
        }

    def versions(self, until: date, weeks: int) -> dict[str, Any]:
        answer = self._distribution(
            until,
            weeks,
            lambda r: (r.product, r.version),
            ("product", "version"),
            "versions",
            lambda e: (e["product"], _Desc(version_order(e["version"]))),
        )
        newest: dict[str, str] = {}
        for report in self.latest(until):
            best = newest.get(report.product)
            if best is None or version_order(report.version) > version_order(best):
                newest[report.product] = report.version
        return {
            **self.header(until, weeks),
            "active_installations": answer["active_installations"],
            "newest": dict(sorted(newest.items())),
            "current": answer["current"],
            "series": answer["series"],
        }

    def deployment_modes(self, until: date, weeks: int) -> dict[str, Any]:
        return self._distribution(
            until,
            weeks,
            lambda r: (r.payload["installation"]["deployment_mode"],),
            ("mode",),
            "modes",
            lambda e: (-e["installations"], e["mode"]),
        )

    def countries(self, until: date, weeks: int) -> dict[str, Any]:
        return self._distribution(
            until,
            weeks,
            lambda r: (r.payload["installation"]["country_code"],),
            ("country",),
            "countries",
            lambda e: (-e["installations"], e["country"]),
        )

    def printers(self, until: date, weeks: int) -> dict[str, Any]:
        latest = self.latest(until)
        active = len(latest)
        total = sum(r.payload["printer_fleet"]["printer_count"] for r in latest)
        sizes = [r.payload["printer_fleet"]["printer_count"] for r in latest]
        histogram = [
            {
                "bucket": label,
                "min": low,
                "max": high,
                "installations": sum(low <= s <= high for s in sizes),
            }
            for label, low, high in BUCKETS
        ] + [
            {"bucket": "20+", "min": 20, "max": None, "installations": sum(s >= 20 for s in sizes)}
        ]
        models: dict[tuple[str, str], list[int]] = defaultdict(list)
        families: dict[str, dict[str, int]] = defaultdict(dict)
        for report in latest:
            for (family, model), n in report.printers().items():
                models[family, model].append(n)
                families[family][report.installation_id] = (
                    families[family].get(report.installation_id, 0) + n
                )

        def entry(names: dict[str, str], printers: int, installations: int) -> dict[str, Any]:
            return {
                **names,
                "printers": printers,
                "installations": installations,
                "share": div(installations, active),
            }

        by_family = [
            entry({"family": f}, sum(owners.values()), len(owners))
            for f, owners in families.items()
        ]
        by_model = [
            entry({"family": f, "model": m}, sum(ns), len(ns)) for (f, m), ns in models.items()
        ]
        by_family.sort(key=lambda e: (-e["printers"], -e["installations"], e["family"]))
        by_model.sort(key=lambda e: (-e["printers"], -e["installations"], e["family"], e["model"]))
        series = []
        for monday in self.mondays(until, weeks):
            week = self.in_week(monday)
            printers = sum(r.payload["printer_fleet"]["printer_count"] for r in week)
            series.append(
                {
                    "week": iso(monday),
                    "active": len(week),
                    "printers": printers,
                    "average": div(printers, len(week)),
                }
            )
        return {
            **self.header(until, weeks),
            "active_installations": active,
            "total": total,
            "average": div(total, active),
            "histogram": histogram,
            "by_family": by_family,
            "by_model": by_model,
            "series": series,
        }

    @staticmethod
    def _features(report: Report) -> set[str]:
        flags = report.stats.get("feature_usage") or {}
        return {name for name, on in flags.items() if on is True}

    def features(self, until: date, weeks: int) -> dict[str, Any]:
        latest = self.latest(until)
        now = Counter(name for r in latest for name in self._features(r))
        mondays = self.mondays(until, weeks)
        per_week = {
            m: Counter(n for r in self.in_week(m) for n in self._features(r)) for m in mondays
        }
        names = set(now) | {name for counts in per_week.values() for name in counts}
        entries: list[dict[str, Any]] = []
        for name in names:
            series: list[dict[str, Any]] = [
                {
                    "week": iso(m),
                    "installations": per_week[m][name],
                    "active": len(self.in_week(m)),
                    "adoption": div(per_week[m][name], len(self.in_week(m))),
                }
                for m in mondays
            ]
            first, last = series[0]["adoption"], series[-1]["adoption"]
            entries.append(
                {
                    "feature": name,
                    "installations": now[name],
                    "adoption": div(now[name], len(latest)),
                    "change": None if first is None or last is None else last - first,
                    "series": series,
                }
            )
        entries.sort(key=lambda e: (-e["installations"], e["feature"]))
        return {
            **self.header(until, weeks),
            "active_installations": len(latest),
            "features": entries,
        }

    @staticmethod
    def _job_figures(items: list[dict[str, Any]], prefix: str = "jobs_") -> dict[str, Any]:
        def total(name: str) -> int:
            return sum(int(item.get(name) or 0) for item in items)

        completed, failed, cancelled = (
            total(prefix + "completed"),
            total(prefix + "failed"),
            total(prefix + "cancelled"),
        )
        decided = completed + failed + cancelled
        filament = [item["filament_m"] for item in items if item.get("filament_m") is not None]
        return {
            "installation_weeks": len(items),
            "started": total(prefix + "started"),
            "completed": completed,
            "failed": failed,
            "cancelled": cancelled,
            "ended_without_outcome": total(prefix + "ended_without_outcome"),
            "success_rate": div(completed, decided),
            "success_rate_95": wilson_reference(completed, decided),
            "print_hours": sum(centi(item.get("print_hours")) for item in items) / 100,
            "paused_hours": sum(centi(item.get("paused_hours")) for item in items) / 100,
            "filament_m": sum(centi(f) for f in filament) / 100 if filament else None,
        }

    def jobs(self, until: date, weeks: int) -> dict[str, Any]:
        mondays = self.mondays(until, weeks)
        in_range = [r for m in mondays for r in self.in_week(m)]
        with_outcomes = [r.stats for r in in_range if "jobs_completed" in r.stats]
        legacy = sum(r.stats["job_count"] for r in in_range if "jobs_completed" not in r.stats)
        models: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for report in in_range:
            for item in report.payload.get("usage_by_model", []):
                models[item["family"], item["model"]].append(item)
        families: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for (family, _), items in models.items():
            families[family] += items
        by_family = [{"family": f, **self._job_figures(items)} for f, items in families.items()]
        by_model = [
            {"family": f, "model": m, **self._job_figures(items)}
            for (f, m), items in models.items()
        ]

        def order(names: tuple[str, ...]) -> Callable[[dict[str, Any]], Any]:
            return lambda e: (-e["started"], -e["installation_weeks"], *(e[n] for n in names))

        return {
            **self.header(until, weeks),
            "totals": {**self._job_figures(with_outcomes), "legacy_job_count": legacy},
            "series": [
                {
                    "week": iso(m),
                    **self._job_figures(
                        [r.stats for r in self.in_week(m) if "jobs_completed" in r.stats]
                    ),
                }
                for m in mondays
            ],
            "by_family": sorted(by_family, key=order(("family",))),
            "by_model": sorted(by_model, key=order(("family", "model"))),
        }

    def errors(self, until: date, weeks: int) -> dict[str, Any]:
        mondays = self.mondays(until, weeks)
        series: list[dict[str, Any]] = []
        for m in mondays:
            week = self.in_week(m)
            errors = sum(r.errors for r in week)
            series.append(
                {
                    "week": iso(m),
                    "errors": errors,
                    "installations_reporting": len(week),
                    "errors_per_installation": div(errors, len(week)),
                }
            )
        named: dict[tuple[str, str], Counter[date]] = defaultdict(Counter)
        for m in mondays:
            for r in self.in_week(m):
                for name, n in (r.payload.get("error_summary") or {}).items():
                    if name != "total_errors" and n > 0:
                        named["type", name][m] += n
                for name, n in (r.payload.get("errors_by_code") or {}).items():
                    if n > 0:
                        named["code", name][m] += n

        def change(last: int, previous: int) -> dict[str, Any]:
            return {
                "last_week": last,
                "previous_week": previous,
                "change": last - previous,
                "change_rate": div(last - previous, previous),
            }

        def entries(kind: str) -> list[dict[str, Any]]:
            found = [
                {
                    kind: name,
                    "count": sum(counts.values()),
                    **change(counts[until], counts[until - WEEK] if weeks > 1 else 0),
                }
                for (k, name), counts in named.items()
                if k == kind
            ]
            return sorted(found, key=lambda e: (-e["count"], e[kind]))

        return {
            **self.header(until, weeks),
            "total": sum(e["errors"] for e in series),
            **change(series[-1]["errors"], series[-2]["errors"] if weeks > 1 else 0),
            "by_type": entries("type"),
            "by_code": entries("code")[:20],
            "series": series,
        }


class _Desc:
    """Sorts its value in descending order inside an ascending sort key."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.value == other.value

    def __hash__(self) -> int:
        return 0
