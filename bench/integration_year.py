"""One simulated year of a 20-printer farm (~200,000 events) through the integration's engine.

Reports the cost of `record()` on the event loop (p50/p99), the weekly aggregation time, the database
size after the year and the engine's open/set-up time. Run: `.venv/bin/python -m bench.integration_year`.
"""

import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from custom_components.printernizer_usage.engine.engine import UsageEngine
from custom_components.printernizer_usage.engine.models import (
    EventKind,
    FleetSnapshot,
    PrinterInfo,
    UsageEvent,
)
from custom_components.printernizer_usage.engine.payload import InstallationContext

PRINTERS = 20
DAYS = 365
START = datetime(2025, 11, 10, tzinfo=UTC)  # a Monday
MODELS = [
    ("bambu_lab", "X1C"),
    ("bambu_lab", "P1S"),
    ("bambu_lab", "A1"),
    ("prusa", "unknown"),
    ("klipper", "unknown"),
]
TARGETS = {"record_p99_us": 50.0, "aggregation_ms": 50.0, "db_mb": 5.0, "setup_ms": 100.0}


class SimulatedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def day_of_events(rng: random.Random, day_start: float, printer: int) -> list[UsageEvent]:
    """~27 events: 6 jobs, 5 short disconnections, 4 errors."""
    family, model = MODELS[printer % len(MODELS)]
    key = f"printer-{printer:02d}"
    events: list[UsageEvent] = []

    def add(
        kind: EventKind, at: float, code: str | None = None, severity: str | None = None
    ) -> None:
        events.append(UsageEvent(kind, at, key, family, model, code, severity))

    for job in range(6):
        begin = day_start + job * 4 * 3600 + rng.uniform(0, 1800)
        add(EventKind.JOB_STARTED, begin)
        outcome = rng.choices(
            [EventKind.JOB_COMPLETED, EventKind.JOB_FAILED, EventKind.JOB_CANCELLED], [85, 10, 5]
        )[0]
        add(outcome, begin + rng.uniform(1800, 3 * 3600))
    for gap in range(5):
        away = day_start + gap * 4.8 * 3600 + rng.uniform(0, 600)
        add(EventKind.PRINTER_DISCONNECTED, away)
        add(EventKind.PRINTER_CONNECTED, away + rng.uniform(60, 600))
    for _ in range(4):
        add(
            EventKind.PRINTER_ERROR,
            day_start + rng.uniform(0, 86_000),
            f"0300_{rng.randrange(8):04d}_0001_0001",
            rng.choice(["common", "serious"]),
        )
    return events


async def main() -> None:
    rng = random.Random(46)
    clock = SimulatedClock(START)
    fleet = FleetSnapshot(
        {f"printer-{n:02d}": PrinterInfo(*MODELS[n % len(MODELS)]) for n in range(PRINTERS)}
    )
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "printernizer_usage.db"
        began = time.perf_counter()
        engine = await UsageEngine.open(path, clock=clock)
        fresh_setup_ms = (time.perf_counter() - began) * 1000
        engine.update_fleet(fleet)

        costs_ns: list[int] = []
        total = 0
        for day in range(DAYS):
            day_start = (START + timedelta(days=day)).timestamp()
            events = [e for p in range(PRINTERS) for e in day_of_events(rng, day_start, p)]
            events.sort(key=lambda e: e.timestamp)
            for hour in range(24):
                hour_end = day_start + (hour + 1) * 3600
                clock.now = datetime.fromtimestamp(hour_end, UTC)
                for event in [e for e in events if hour_end - 3600 <= e.timestamp < hour_end]:
                    before = time.perf_counter_ns()
                    engine.record(event)
                    costs_ns.append(time.perf_counter_ns() - before)
                    total += 1
                await engine.flush()
                await engine.heartbeat()

        last_week = START + timedelta(days=DAYS - 7 - (DAYS % 7))
        aggregation_ms = []
        for _ in range(20):
            began = time.perf_counter()
            await engine.aggregate(last_week)
            aggregation_ms.append((time.perf_counter() - began) * 1000)
        context = InstallationContext(
            "9d2b7c1e-5a4f-4c3b-8e6d-2f1a0b9c8d7e", "0.1.0", "2026.10.4", "linux", "haos"
        )
        payload = await engine.build_payload(last_week, context)
        await engine.close()
        db_mb = path.stat().st_size / 1_000_000

        setup_ms = []
        for _ in range(10):
            began = time.perf_counter()
            reopened = await UsageEngine.open(path, clock=clock)
            setup_ms.append((time.perf_counter() - began) * 1000)
            await reopened.close()

    costs_us = sorted(cost / 1000 for cost in costs_ns)
    results = {
        "record_p99_us": costs_us[int(len(costs_us) * 0.99)],
        "aggregation_ms": statistics.median(aggregation_ms),
        "db_mb": db_mb,
        "setup_ms": statistics.median(setup_ms),
    }
    usage = payload["usage_stats"]
    print(f"events recorded: {total:,} ({PRINTERS} printers, {DAYS} days)")
    print(
        f"record() on the loop: p50 {costs_us[len(costs_us) // 2]:.2f} µs, "
        f"p99 {results['record_p99_us']:.2f} µs, max {costs_us[-1]:.1f} µs"
    )
    print(
        f"weekly aggregation: median {results['aggregation_ms']:.2f} ms, "
        f"max {max(aggregation_ms):.2f} ms (last week: {usage['jobs_started']} jobs, "
        f"{usage['print_hours']} print hours)"
    )
    print(f"database after the year: {db_mb:.2f} MB (raw events kept 90 days + daily rollups)")
    print(
        f"engine open/set-up: fresh {fresh_setup_ms:.1f} ms, after a year median "
        f"{results['setup_ms']:.1f} ms"
    )
    for name, target in TARGETS.items():
        verdict = "ok" if results[name] <= target else "MISSED"
        print(f"  {name}: {results[name]:.2f} (target ≤ {target}) {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
