"""Pure: GET /stats/overview — the dashboard's top row, picked from the other answers so its numbers
are theirs."""

from collections.abc import Mapping
from typing import Any

from receiver.analytics.distribution import ratio
from receiver.analytics.week_window import WeekWindow

SEVERITY_ORDER = ("warning", "critical")


def overview_answer(window: WeekWindow, answers: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """`answers`: the installations, versions, printers, jobs, errors and anomalies answers."""
    installations, versions, printers = (
        answers["installations"],
        answers["versions"],
        answers["printers"],
    )
    jobs, errors, anomalies = answers["jobs"], answers["errors"], answers["anomalies"]
    series = installations["series"]
    last = series[-1]["active"]
    previous = series[-2]["active"] if len(series) > 1 else 0
    totals = jobs["totals"]
    found = anomalies["anomalies"]
    severities = {entry["severity"] for entry in found}
    return {
        **window.header(),
        "installations": {
            "total": installations["total"],
            "active_7d": installations["active_7d"],
            "active_30d": installations["active_30d"],
            "active_last_week": last,
            "active_previous_week": previous,
            "change": last - previous,
            "change_rate": ratio(last - previous, previous),
        },
        "newest_versions": versions["newest"],
        "printers": {"total": printers["total"], "average": printers["average"]},
        "jobs": {
            name: totals[name]
            for name in (
                "completed",
                "failed",
                "cancelled",
                "ended_without_outcome",
                "success_rate",
                "print_hours",
                "filament_m",
            )
        },
        "errors": {
            "total": errors["total"],
            "last_week": errors["last_week"],
            "previous_week": errors["previous_week"],
        },
        "anomalies": {
            "count": len(found),
            "highest_severity": next(
                (level for level in reversed(SEVERITY_ORDER) if level in severities), None
            ),
        },
    }
