"""The schema 1.1 payload (docs/payload.md) built from a `WeekAggregate` and an `InstallationContext`.

Nothing identifying leaves through here: the only identifier is the installation id.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .aggregate import JobFigures, WeekAggregate
from .printernizer_server import ServerUsage
from .timeutil import iso_z, week_start

SCHEMA_VERSION = "1.1"


@dataclass(frozen=True, slots=True)
class InstallationContext:
    """Facts about this installation that go into the payload's `installation` object."""

    installation_id: str
    integration_version: str
    ha_version: str
    platform: str
    deployment_mode: str
    country_code: str = "XX"
    python_version: str | None = None
    first_seen: datetime | None = None  # the first week this installation id shares (week start)
    data_source: str = "home_assistant"
    feature_usage: Mapping[str, bool] = field(
        default_factory=lambda: {"printernizer_server": False}
    )


# The receiver's limits (docs/payload.md): strings <= 64 chars of [A-Za-z0-9 _.:+/-], <= 64 object keys.
MAX_STRING = 64
MAX_KEYS = 64
_DISALLOWED = re.compile(r"[^A-Za-z0-9 _.:+/-]")


def clean(text: str) -> str:
    """A string the receiver accepts: disallowed characters become `_`, at most 64 characters."""
    return _DISALLOWED.sub("_", text)[:MAX_STRING] or "unknown"


def _top(counts: Mapping[str, int], limit: int = MAX_KEYS) -> dict[str, int]:
    """The `limit` largest counts, sorted by key."""
    kept = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return dict(sorted(kept))


def _merge(pairs: list[tuple[str, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for key, count in pairs:
        merged[key] = merged.get(key, 0) + count
    return merged


def _round(value: float) -> float:
    return round(value, 2)


def usage_by_model(
    aggregate: WeekAggregate, model_counts: Mapping[str, Mapping[str, int]]
) -> list[dict[str, Any]]:
    """One entry per (family, model) of the fleet or with activity in the week, the same keys as
    `printer_model_counts`; their sums are the fleet totals (unless more than 64 models exist)."""
    figures: dict[tuple[str, str], JobFigures] = {}
    for (family, model), item in aggregate.by_model.items():
        key = (clean(family), clean(model))
        figures[key] = figures.get(key, JobFigures()).plus(item)
    active: dict[tuple[str, str], int] = {}
    for printer in aggregate.by_printer.values():
        if printer.figures.active:
            key = (clean(printer.family), clean(printer.model))
            active[key] = active.get(key, 0) + 1
    keys = {(f, m) for f, models in model_counts.items() for m in models} | figures.keys()
    entries: list[dict[str, Any]] = []
    for family, model in keys:
        item = figures.get((family, model), JobFigures())
        entry: dict[str, Any] = {
            "family": family,
            "model": model,
            "printers": model_counts.get(family, {}).get(model, 0),
            "active_printers": active.get((family, model), 0),
            "jobs_started": item.jobs_started,
            "jobs_completed": item.jobs_completed,
            "jobs_failed": item.jobs_failed,
            "jobs_cancelled": item.jobs_cancelled,
            "jobs_ended_without_outcome": item.jobs_ended_without_outcome,
            "print_hours": _round(item.print_seconds / 3600),
            "paused_hours": _round(item.paused_seconds / 3600),
        }
        if item.filament_m is not None:
            entry["filament_m"] = _round(item.filament_m)
        entries.append(entry)
    entries.sort(key=lambda e: (-e["printers"], -e["jobs_started"], e["family"], e["model"]))
    return sorted(entries[:MAX_KEYS], key=lambda e: (e["family"], e["model"]))


def errors_by_model(aggregate: WeekAggregate) -> list[dict[str, Any]]:
    """Error counts per (family, model, code): the 64 largest."""
    merged = _merge_keys(
        [
            ((clean(family), clean(model), clean(code)), count)
            for (family, model, code), count in aggregate.errors_by_model.items()
        ]
    )
    kept = sorted(merged.items(), key=lambda item: (-item[1], item[0]))[:MAX_KEYS]
    return [
        {"family": family, "model": model, "code": code, "count": count}
        for (family, model, code), count in sorted(kept)
    ]


def _merge_keys(pairs: list[tuple[tuple[str, str, str], int]]) -> dict[tuple[str, str, str], int]:
    merged: dict[tuple[str, str, str], int] = {}
    for key, count in pairs:
        merged[key] = merged.get(key, 0) + count
    return merged


def build_payload(
    aggregate: WeekAggregate,
    context: InstallationContext,
    *,
    submitted_at: datetime,
    server: ServerUsage | None = None,
) -> dict[str, Any]:
    """The schema 1.1 payload for `aggregate` (a dict ready for `json.dumps`); with `server`, what the
    Printernizer server added for the same week."""
    installation: dict[str, Any] = {"installation_id": context.installation_id}
    if context.first_seen is not None:
        # Week precision: the Monday of the first week this id shares (never the moment of opt-in).
        installation["first_seen"] = iso_z(week_start(context.first_seen))
    installation |= {
        "app_version": clean(context.integration_version),
        "integration_version": clean(context.integration_version),
        "ha_version": clean(context.ha_version),
    }
    if context.python_version is not None:
        installation["python_version"] = clean(context.python_version)
    installation |= {
        "platform": clean(context.platform),
        "deployment_mode": clean(context.deployment_mode),
        "country_code": context.country_code
        if re.fullmatch(r"[A-Z]{2}", context.country_code)
        else "XX",
        "data_source": "home_assistant+printernizer" if server else context.data_source,
    }
    feature_usage = dict(context.feature_usage) | (server.feature_usage if server else {})

    model_counts = {
        clean(family): _top(_merge([(clean(model), n) for model, n in models.items()]))
        for family, models in aggregate.fleet.items()
    }
    model_counts = dict(sorted(model_counts.items())[:MAX_KEYS])
    type_counts = {family: sum(models.values()) for family, models in model_counts.items()}

    severity_counts = _merge(
        [(clean(f"severity_{severity}"), n) for severity, n in aggregate.errors_by_severity.items()]
    )
    error_summary = {"total_errors": aggregate.total_errors} | _top(severity_counts, MAX_KEYS - 1)
    errors_by_code = _top(
        _merge(
            [
                (clean(f"{family}:{code}"), n)
                for (family, code), n in aggregate.errors_by_code.items()
            ]
        )
    )

    return {
        "schema_version": SCHEMA_VERSION,
        "submission_timestamp": iso_z(submitted_at),
        "installation": installation,
        "period": {
            "start": iso_z(aggregate.period_start),
            "end": iso_z(aggregate.period_end),
            "duration_days": (aggregate.period_end - aggregate.period_start).days,
        },
        "printer_fleet": {
            "printer_count": sum(type_counts.values()),
            "printer_types": sorted(type_counts),
            "printer_type_counts": type_counts,
            "printer_model_counts": model_counts,
        },
        "usage_stats": {
            "job_count": aggregate.jobs_completed + aggregate.jobs_failed,
            "jobs_started": aggregate.jobs_started,
            "jobs_completed": aggregate.jobs_completed,
            "jobs_failed": aggregate.jobs_failed,
            "jobs_cancelled": aggregate.jobs_cancelled,
            "jobs_ended_without_outcome": aggregate.jobs_ended_without_outcome,
            "print_hours": _round(aggregate.print_seconds / 3600),
            "paused_hours": _round(aggregate.paused_seconds / 3600),
            "active_printers": aggregate.active_printers,
            "file_count": server.file_count if server else None,
            "upload_count": server.upload_count if server else None,
            "uptime_hours": round(aggregate.uptime_seconds / 3600),
            "printer_online_hours": round(aggregate.online_seconds / 3600, 2),
            "feature_usage": {clean(k): bool(v) for k, v in sorted(feature_usage.items())},
        }
        | ({} if aggregate.filament_m is None else {"filament_m": _round(aggregate.filament_m)}),
        "error_summary": error_summary,
        "errors_by_code": errors_by_code,
        "usage_by_model": usage_by_model(aggregate, model_counts),
        "errors_by_model": errors_by_model(aggregate),
    }
