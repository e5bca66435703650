"""Per-level measurements, the printed table and the PASS/MISS verdicts against the targets."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench._load import LoadResult, percentile_ms

TARGET_STORED_PER_S = 2000.0
TARGET_P99_MS = 100.0
TARGET_CPU_MS_PER_STORED = 0.4
TARGET_CONCURRENCY = 64
STRESS_CONCURRENCY = 256


@dataclass
class Level:
    """One load level: what was sent, what came back, what it cost."""

    database: str  # "sqlite", "postgresql" or "ceiling"
    workers: int
    concurrency: int
    load: LoadResult
    server_cpu_s: float
    database_cpu_s: float | None
    client_cpu_s: float
    rows_stored: int | None  # rows added to the submissions table during the level
    healthy_after: bool
    load_average: float
    notes: list[str] = field(default_factory=list)
    ceiling_per_s: float | None = None
    all_postgres_cpu_s: float | None = None  # every postgres process, other databases included

    @property
    def answered(self) -> int:
        return sum(self.load.status_counts.values())

    @property
    def ok_per_s(self) -> float:
        return self.load.ok / self.load.elapsed_s if self.load.elapsed_s else 0.0

    def per_ok_ms(self, seconds: float | None) -> float | None:
        if seconds is None or not self.load.ok:
            return None
        return seconds / self.load.ok * 1000.0

    @property
    def total_cpu_ms(self) -> float | None:
        server = self.per_ok_ms(self.server_cpu_s)
        database = self.per_ok_ms(self.database_cpu_s) or 0.0
        return None if server is None else server + database

    @property
    def rows_match(self) -> bool | None:
        return None if self.rows_stored is None else self.rows_stored == self.load.ok

    @property
    def ceiling_fraction(self) -> float | None:
        if not self.ceiling_per_s:
            return None
        return self.ok_per_s / self.ceiling_per_s

    def as_json(self) -> dict[str, Any]:
        latencies = self.load.latencies_s
        return {
            "database": self.database,
            "workers": self.workers,
            "concurrency": self.concurrency,
            "elapsed_s": round(self.load.elapsed_s, 3),
            "sent": self.load.sent,
            "ok": self.load.ok,
            "ok_per_s": round(self.ok_per_s, 1),
            "p50_ms": percentile_ms(latencies, 0.50),
            "p95_ms": percentile_ms(latencies, 0.95),
            "p99_ms": percentile_ms(latencies, 0.99),
            "max_ms": max(latencies) * 1000.0 if latencies else None,
            "status_counts": {str(k): v for k, v in sorted(self.load.status_counts.items())},
            "timeouts": self.load.timeouts,
            "errors": self.load.errors,
            "error_samples": self.load.error_samples,
            "requests_exhausted": self.load.requests_exhausted,
            "server_cpu_ms_per_ok": self.per_ok_ms(self.server_cpu_s),
            "database_cpu_ms_per_ok": self.per_ok_ms(self.database_cpu_s),
            "total_cpu_ms_per_ok": self.total_cpu_ms,
            "client_cpu_ms_per_ok": self.per_ok_ms(self.client_cpu_s),
            "all_postgres_cpu_ms_per_ok": self.per_ok_ms(self.all_postgres_cpu_s),
            "server_cpu_s": self.server_cpu_s,
            "database_cpu_s": self.database_cpu_s,
            "rows_stored": self.rows_stored,
            "rows_match_2xx": self.rows_match,
            "healthy_after": self.healthy_after,
            "load_average_1m_before": self.load_average,
            "ceiling_per_s": self.ceiling_per_s,
            "fraction_of_ceiling": self.ceiling_fraction,
            "notes": self.notes,
        }


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


_HEADER = (
    f"{'database':<10} {'wk':>2} {'conc':>4} {'ok/s':>7} {'ceil%':>5} "
    f"{'p50':>7} {'p95':>7} {'p99':>7} {'timeo':>5} {'err':>4} "
    f"{'srv ms':>6} {'db ms':>6} {'tot ms':>6} {'cli ms':>6} {'rows=2xx':>8}  statuses"
)


def format_row(level: Level) -> str:
    latencies = level.load.latencies_s
    fraction = level.ceiling_fraction
    rows = {None: "-", True: "yes", False: "NO"}[level.rows_match]
    statuses = " ".join(f"{k}:{v}" for k, v in sorted(level.load.status_counts.items()))
    if not level.healthy_after:
        statuses += " HEALTH-FAILED"
    return (
        f"{level.database:<10} {level.workers:>2} {level.concurrency:>4} {level.ok_per_s:>7.0f} "
        f"{_num(None if fraction is None else fraction * 100, 0):>5} "
        f"{_num(percentile_ms(latencies, 0.50)):>7} {_num(percentile_ms(latencies, 0.95)):>7} "
        f"{_num(percentile_ms(latencies, 0.99)):>7} {level.load.timeouts:>5} {level.load.errors:>4} "
        f"{_num(level.per_ok_ms(level.server_cpu_s), 2):>6} "
        f"{_num(level.per_ok_ms(level.database_cpu_s), 2):>6} "
        f"{_num(level.total_cpu_ms, 2):>6} {_num(level.per_ok_ms(level.client_cpu_s), 2):>6} "
        f"{rows:>8}  {statuses}"
    )


def format_table(levels: Sequence[Level]) -> str:
    legend = (
        "ok/s = 2xx answers per second (stored submissions; for 'ceiling' rows: answered requests)\n"
        "ceil% = ok/s as a share of the ceiling at the same workers and concurrency; latencies in ms\n"
        "srv/db/tot/cli ms = CPU milliseconds per 2xx of the server processes, the PostgreSQL backends\n"
        "of the bench database + background processes (SQLite runs inside the server), their sum,\nand the load generator"
    )
    return "\n".join([legend, _HEADER, "-" * len(_HEADER), *(format_row(lv) for lv in levels)])


@dataclass(frozen=True)
class Verdict:
    target: str
    passed: bool | None  # None: not measured
    detail: str

    def line(self) -> str:
        mark = {True: "PASS", False: "MISS", None: "N/A "}[self.passed]
        return f"{mark}  {self.target}: {self.detail}"


def verdicts(levels: Sequence[Level]) -> list[Verdict]:
    storing = [lv for lv in levels if lv.database != "ceiling"]
    pg64 = [
        lv for lv in storing if lv.database == "postgresql" and lv.concurrency == TARGET_CONCURRENCY
    ]
    best = max(pg64, key=lambda lv: lv.ok_per_s, default=None)
    found: list[Verdict] = []
    if best is None:
        found.append(Verdict("PostgreSQL targets at 64 clients", None, "PostgreSQL not measured"))
    else:
        where = f"PostgreSQL, {best.workers} worker(s), 64 clients"
        found.append(
            Verdict(
                f">= {TARGET_STORED_PER_S:.0f} stored/s",
                best.ok_per_s >= TARGET_STORED_PER_S,
                f"{best.ok_per_s:.0f}/s ({where})",
            )
        )
        p99 = percentile_ms(best.load.latencies_s, 0.99)
        found.append(
            Verdict(
                f"p99 < {TARGET_P99_MS:.0f} ms",
                p99 is not None and p99 < TARGET_P99_MS,
                f"{_num(p99)} ms ({where})",
            )
        )
        cpu = best.total_cpu_ms
        found.append(
            Verdict(
                f"<= {TARGET_CPU_MS_PER_STORED} ms server+DB CPU per stored",
                cpu is not None and cpu <= TARGET_CPU_MS_PER_STORED,
                f"{_num(cpu, 3)} ms ({where})",
            )
        )
    stressed = [lv for lv in storing if lv.concurrency == STRESS_CONCURRENCY]
    failing = [lv for lv in stressed if lv.load.timeouts or lv.load.errors or not lv.healthy_after]
    found.append(
        Verdict(
            f"zero errors/timeouts at {STRESS_CONCURRENCY} clients",
            None if not stressed else not failing,
            "; ".join(
                f"{lv.database}/{lv.workers}wk: {lv.load.timeouts} timeouts, {lv.load.errors} errors"
                for lv in stressed
            )
            or "not measured",
        )
    )
    mismatched = [lv for lv in storing if lv.rows_match is False]
    found.append(
        Verdict(
            "rows stored == 2xx answers at every level",
            None if not storing else not mismatched,
            "not measured"
            if not storing
            else "all levels match"
            if not mismatched
            else "; ".join(
                f"{lv.database}/{lv.workers}wk/{lv.concurrency}: rows {lv.rows_stored} vs 2xx {lv.load.ok}"
                for lv in mismatched
            ),
        )
    )
    return found
