"""Pure: a report as a neutral document (sections of facts and tables, every value already a plain
string), which text.py and html.py render. Each section names the API call that gives its numbers."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from receiver.analytics.reliability import iso_week
from receiver.reports.content import TOP, ReportContent

DASH = "\u2013"  # en dash: no value


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    source: str  # the API call whose answer holds these numbers
    facts: list[tuple[str, str]] = field(default_factory=list)
    table: Table | None = None
    empty: str = ""  # said instead of an empty table


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    subtitle: str
    sections: list[Section]


def number(value: Any) -> str:
    if value is None:
        return DASH
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def percent(value: float | None) -> str:
    return DASH if value is None else f"{100 * value:.1f} %"


def signed(value: int | None) -> str:
    return DASH if value is None else f"{value:+d}"


def _table(
    header: Sequence[str],
    entries: Iterable[Mapping[str, Any]],
    cells: Callable[[Mapping[str, Any]], Sequence[Any]],
    limit: int = TOP,
) -> Table:
    rows = [tuple(str(cell) for cell in cells(entry)) for entry in list(entries)[:limit]]
    return Table(tuple(header), rows)


def _installations(content: ReportContent) -> Section:
    trend = content.trend
    series = trend["series"]
    last, previous = series[-1], series[-2] if len(series) > 1 else None
    return Section(
        "Installations",
        f"GET /stats/installations?{content.range.api_query(content.range.trend)}",
        facts=[
            (f"Active in {last['week']}", number(last["active"])),
            (
                "Change against the week before",
                signed(last["active"] - previous["active"]) if previous else DASH,
            ),
            (f"New in {last['week']}", number(last["new"])),
            (f"Gone quiet in {last['week']}", number(last["gone_quiet"])),
            ("Active in the last 7 days", number(trend["active_7d"])),
            ("Active in the last 30 days", number(trend["active_30d"])),
            ("Installations in all", number(trend["total"])),
        ],
        table=_table(
            ("week", "active", "new", "gone quiet"),
            reversed(series),
            lambda e: (e["week"], e["active"], e["new"], e["gone_quiet"]),
            limit=len(series),
        ),
    )


def _share_section(
    title: str, path: str, answer: Mapping[str, Any], names: Sequence[str], query: str
) -> Section:
    return Section(
        title,
        f"GET /stats/{path}?{query}",
        facts=[("Active installations", number(answer["active_installations"]))],
        table=_table(
            (*names, "installations", "share"),
            answer["current"],
            lambda e: (*(e[n] for n in names), e["installations"], percent(e["share"])),
        ),
        empty="No active installations.",
    )


def _versions(answer: Mapping[str, Any], query: str) -> Section:
    section = _share_section("Versions", "versions", answer, ("product", "version"), query)
    newest = [
        (f"Newest {product} version", version) for product, version in answer["newest"].items()
    ]
    return Section(
        section.title, section.source, newest + section.facts, section.table, section.empty
    )


def _printers(answer: Mapping[str, Any], query: str) -> Section:
    return Section(
        "Printers",
        f"GET /stats/printers?{query}",
        facts=[
            ("Printers of active installations", number(answer["total"])),
            ("Average per installation", number(answer["average"])),
        ],
        table=_table(
            ("family", "printers", "installations"),
            answer["by_family"],
            lambda e: (e["family"], e["printers"], e["installations"]),
        ),
        empty="No printers.",
    )


def _features(answer: Mapping[str, Any], query: str) -> Section:
    return Section(
        "Features",
        f"GET /stats/features?{query}",
        table=_table(
            ("feature", "installations", "adoption"),
            answer["features"],
            lambda e: (e["feature"], e["installations"], percent(e["adoption"])),
        ),
        empty="No feature is switched on.",
    )


def _jobs(answer: Mapping[str, Any], query: str) -> Section:
    totals = answer["totals"]
    interval = totals["success_rate_95"]
    return Section(
        "Jobs",
        f"GET /stats/jobs?{query}",
        facts=[
            ("Completed", number(totals["completed"])),
            ("Failed", number(totals["failed"])),
            ("Cancelled", number(totals["cancelled"])),
            ("Ended without outcome", number(totals["ended_without_outcome"])),
            ("Success rate", percent(totals["success_rate"])),
            (
                "Success rate, 95 % interval",
                DASH
                if interval is None
                else f"{percent(interval['low'])} … {percent(interval['high'])}",
            ),
            ("Print hours", number(totals["print_hours"])),
            ("Filament (m)", number(totals["filament_m"])),
        ],
        table=_table(
            ("family", "model", "completed", "failed", "success rate"),
            answer["by_model"],
            lambda e: (
                e["family"],
                e["model"],
                e["completed"],
                e["failed"],
                percent(e["success_rate"]),
            ),
        ),
        empty="No per-model reports.",
    )


def _errors(answer: Mapping[str, Any], query: str) -> Section:
    return Section(
        "Errors",
        f"GET /stats/errors?{query}",
        facts=[("Errors", number(answer["total"]))],
        table=_table(
            ("type", "count", "last week", "week before", "change"),
            answer["by_type"],
            lambda e: (
                e["type"],
                e["count"],
                e["last_week"],
                e["previous_week"],
                signed(e["change"]),
            ),
        ),
        empty="No errors by type.",
    )


def _anomalies(answer: Mapping[str, Any], query: str) -> Section:
    return Section(
        "Anomalies",
        f"GET /stats/anomalies?{query}",
        table=_table(
            ("week", "severity", "what happened"),
            answer["anomalies"],
            lambda e: (e["week"], e["severity"], e["explanation"]),
            limit=len(answer["anomalies"]),
        ),
        empty="Nothing unusual.",
    )


def report_document(content: ReportContent) -> Document:
    report = content.range
    answers = content.answers
    query = report.api_query(report.period)
    weeks = (
        iso_week(report.period.since)
        if report.period.weeks == 1
        else f"{iso_week(report.period.since)} … {iso_week(report.period.until)}"
    )
    return Document(
        title=f"Printernizer Usage — {report.kind} report {report.label}",
        subtitle=f"ISO weeks {weeks}; each section names the API call with the same numbers.",
        sections=[
            _installations(content),
            _versions(answers["versions"], query),
            _share_section(
                "Deployment modes",
                "deployment-modes",
                answers["deployment_modes"],
                ("mode",),
                query,
            ),
            _share_section("Countries", "countries", answers["countries"], ("country",), query),
            _printers(answers["printers"], query),
            _features(answers["features"], query),
            _jobs(answers["jobs"], query),
            _errors(answers["errors"], query),
            _anomalies(answers["anomalies"], query),
        ],
    )
