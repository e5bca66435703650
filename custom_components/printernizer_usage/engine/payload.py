"""The schema 1.1 payload (docs/payload.md) built from a `WeekAggregate` and an `InstallationContext`.

Nothing identifying leaves through here: the only identifier is the installation id.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .aggregate import WeekAggregate
from .printernizer_server import ServerUsage
from .timeutil import iso_z

SCHEMA_VERSION = "1.1"
DATA_SOURCES = ("home_assistant", "printernizer", "home_assistant+printernizer")


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
    first_seen: datetime | None = None  # when sharing was switched on for this installation id
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
        installation["first_seen"] = iso_z(context.first_seen)
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
            "print_hours": round(aggregate.print_seconds / 3600, 2),
            "file_count": server.file_count if server else None,
            "upload_count": server.upload_count if server else None,
            "uptime_hours": round(aggregate.uptime_seconds / 3600),
            "printer_online_hours": round(aggregate.online_seconds / 3600, 2),
            "feature_usage": {clean(k): bool(v) for k, v in sorted(feature_usage.items())},
        },
        "error_summary": error_summary,
        "errors_by_code": errors_by_code,
    }
