"""Prometheus metrics (prometheus-client), served at GET /metrics to admin keys.

With several workers (`serve --workers N`), `serve` points PROMETHEUS_MULTIPROC_DIR at a fresh
directory before the workers start: each process writes its values to memory-mapped files there and
GET /metrics (answered by any worker) adds them up. One worker: the process's own registry.

No label ever holds an address, an installation id or a key: only routes, outcomes and error codes.
"""

import os
import time

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: less to write per sample, less to scrape
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
LIMITED_CODES = frozenset(
    {"rate_limited", "client_rate_limited", "new_installation_limited", "ingest_quota_exceeded"}
)

SUBMISSIONS = Counter(
    "receiver_submissions",
    "POST /submit answers by outcome (stored, duplicate, refused, limited, failed) and reason "
    "(the error code; 'ok' for stored and duplicate)",
    ["outcome", "reason"],
)
REQUEST_SECONDS = Histogram(
    "receiver_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by route and method",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
BATCH_SIZE = Histogram(
    "receiver_group_commit_batch_size",
    "Submissions written together in one PostgreSQL group-commit batch",
    buckets=(1, 2, 4, 8, 16, 32, 64, 100),
)
DATABASE_ERRORS = Counter(
    "receiver_database_errors",
    "Database failures: 'unavailable' (answered 503) or 'error' (answered 500 or failed one item)",
    ["kind"],
)
LIMITER_ENTRIES = Gauge(
    "receiver_limiter_entries",
    "Client keys held by the in-memory limiters (summed over live worker processes)",
    ["limiter"],
    multiprocess_mode="livesum",
)


def count_submission(outcome: str, reason: str = "ok") -> None:
    SUBMISSIONS.labels(outcome, reason).inc()


def count_refused_submission(status: int, code: str) -> None:
    if status >= 500:
        count_submission("failed", code)
    elif code in LIMITED_CODES:
        count_submission("limited", code)
    else:
        count_submission("refused", code)


def count_database_error(kind: str) -> None:
    DATABASE_ERRORS.labels(kind).inc()


def observe_batch(size: int) -> None:
    BATCH_SIZE.observe(size)


def set_limiter_entries(limiter: str, entries: int) -> None:
    LIMITER_ENTRIES.labels(limiter).set(entries)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every worker's metrics (multiprocess mode) or this process's."""
    if os.environ.get(MULTIPROCESS_VARIABLE):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def process_exited() -> None:
    """Drop this worker's live gauges (a SIGKILLed worker's stay until the next `serve`)."""
    if os.environ.get(MULTIPROCESS_VARIABLE):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def timing_middleware(app: ASGIApp) -> ASGIApp:
    """Observe each routed HTTP request's duration, labelled by its route template."""

    async def timed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await app(scope, receive, send)
        finally:
            route = str(scope.get("path_template", "other"))
            method = str(scope.get("method", ""))
            REQUEST_SECONDS.labels(route, method).observe(time.perf_counter() - started)

    return timed
