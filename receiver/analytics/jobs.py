"""Pure: GET /stats/jobs — jobs by outcome, success rate (with its Wilson interval), print hours and
filament over the range, per week, per printer family and per model. Sums arrive from SQL as whole
numbers (hours and metres in hundredths)."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from receiver.analytics.distribution import ratio
from receiver.analytics.reliability import iso_week, wilson_interval
from receiver.analytics.week_window import WeekWindow
from receiver.db.tables import JOB_SUMS

SUMMED = ("installation_weeks", *JOB_SUMS)


def job_figures(sums: Mapping[str, Any]) -> dict[str, Any]:
    def total(name: str) -> int:
        value = sums.get(name)
        return 0 if value is None else int(value)

    completed, failed, cancelled = total("completed"), total("failed"), total("cancelled")
    decided = completed + failed + cancelled
    interval = wilson_interval(completed, decided)
    return {
        "installation_weeks": total("installation_weeks"),
        "started": total("started"),
        "completed": completed,
        "failed": failed,
        "cancelled": cancelled,
        "ended_without_outcome": total("ended_without_outcome"),
        "success_rate": ratio(completed, decided),
        "success_rate_95": None if interval is None else {"low": interval[0], "high": interval[1]},
        "print_hours": total("print_centihours") / 100,
        "paused_hours": total("paused_centihours") / 100,
        "filament_m": total("filament_cm") / 100 if total("filament_reports") else None,
    }


def _summed(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    sums = dict.fromkeys(SUMMED, 0)
    for row in rows:
        for name in SUMMED:
            value = row.get(name)
            sums[name] += 0 if value is None else int(value)
    return sums


def _ordered(entries: list[dict[str, Any]], names: tuple[str, ...]) -> list[dict[str, Any]]:
    return sorted(
        entries, key=lambda e: (-e["started"], -e["installation_weeks"], *(e[n] for n in names))
    )


def jobs_answer(
    window: WeekWindow,
    totals: Mapping[str, Any],
    weekly: Iterable[Mapping[str, Any]],
    models: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    by_week = {row["week"]: row for row in weekly}
    families: dict[str, list[Mapping[str, Any]]] = {}
    for row in models:
        families.setdefault(str(row["family"]), []).append(row)
    return {
        **window.header(),
        "totals": {
            **job_figures(totals),
            "legacy_job_count": int(totals.get("legacy_job_count") or 0),
        },
        "series": [
            {"week": iso_week(monday), **job_figures(by_week.get(monday, {}))}
            for monday in window.mondays()
        ],
        "by_family": _ordered(
            [{"family": family, **job_figures(_summed(rows))} for family, rows in families.items()],
            ("family",),
        ),
        "by_model": _ordered(
            [
                {"family": str(row["family"]), "model": str(row["model"]), **job_figures(row)}
                for row in models
            ],
            ("family", "model"),
        ),
    }
