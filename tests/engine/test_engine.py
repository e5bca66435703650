"""The engine records events, aggregates ISO weeks and keeps the outbox, persisted across restarts."""

import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from custom_components.printernizer_usage.engine.database import SCHEMA_VERSION, SchemaTooNewError
from custom_components.printernizer_usage.engine.engine import UsageEngine
from custom_components.printernizer_usage.engine.models import (
    EventKind,
    FleetSnapshot,
    PrinterInfo,
)

from .conftest import INSTALLATION_ID, WEEK_46, Clock, context, event, wait_until

FLEET = FleetSnapshot(
    {
        "a": PrinterInfo("bambu_lab", "X1C"),
        "b": PrinterInfo("bambu_lab", "X1C"),
        "c": PrinterInfo("bambu_lab", "P1S"),
        "d": PrinterInfo("klipper", "unknown"),
    }
)


async def test_a_week_of_jobs_errors_and_time_is_aggregated(
    engine: UsageEngine, clock: Clock
) -> None:
    start = clock.now
    engine.update_fleet(FLEET)
    engine.record(event(EventKind.PRINTER_CONNECTED, start, "a"))
    engine.record(event(EventKind.JOB_STARTED, start + timedelta(hours=1), "a"))
    engine.record(event(EventKind.JOB_COMPLETED, start + timedelta(hours=3), "a"))
    engine.record(event(EventKind.JOB_STARTED, start + timedelta(hours=4), "a"))
    engine.record(
        event(
            EventKind.PRINTER_ERROR,
            start + timedelta(hours=4.5),
            "a",
            code="0300_01",
            severity="serious",
        )
    )
    engine.record(event(EventKind.JOB_FAILED, start + timedelta(hours=5), "a"))
    engine.record(event(EventKind.PRINTER_DISCONNECTED, start + timedelta(hours=6), "a"))
    engine.record(event(EventKind.JOB_STARTED, start, "d", "klipper", "unknown"))
    engine.record(
        event(EventKind.JOB_CANCELLED, start + timedelta(minutes=30), "d", "klipper", "unknown")
    )
    clock.advance(hours=10)

    summary = await engine.week_summary()

    assert (summary.period_start, summary.period_end) == (WEEK_46, WEEK_46 + timedelta(days=7))
    assert (
        summary.jobs_started,
        summary.jobs_completed,
        summary.jobs_failed,
        summary.jobs_cancelled,
    ) == (
        3,
        1,
        1,
        1,
    )
    assert summary.success_rate == pytest.approx(1 / 3)
    assert (summary.errors, summary.errors_by_severity) == (1, {"serious": 1})
    assert summary.print_hours == 3.5  # 2 h + 1 h on "a", 0.5 h on "d"
    # "a" was connected for 6 h; "d" reported (hence was connected) from its first event until now.
    assert summary.printer_online_hours == 16.0
    assert summary.uptime_hours == 10.0
    assert summary.printers_total == 4
    assert summary.printers_by_family == {"bambu_lab": 3, "klipper": 1}
    assert summary.printers_by_model == {
        "bambu_lab": {"P1S": 1, "X1C": 2},
        "klipper": {"unknown": 1},
    }


async def test_no_finished_jobs_means_no_success_rate(engine: UsageEngine) -> None:
    summary = await engine.week_summary()
    assert summary.success_rate is None
    assert summary.printers_total == 0


async def test_intervals_are_split_at_week_boundaries(engine: UsageEngine, clock: Clock) -> None:
    sunday_evening = WEEK_46 + timedelta(days=6, hours=22)
    clock.now = sunday_evening
    engine.record(event(EventKind.JOB_STARTED, sunday_evening))
    clock.advance(hours=5)
    engine.record(event(EventKind.JOB_COMPLETED, clock.now))
    week_46 = await engine.aggregate(WEEK_46)
    week_47 = await engine.aggregate(WEEK_46 + timedelta(days=7))
    assert (week_46.print_seconds, week_47.print_seconds) == (2 * 3600, 3 * 3600)
    assert (week_46.jobs_started, week_46.jobs_completed) == (1, 0)
    assert (week_47.jobs_started, week_47.jobs_completed) == (0, 1)


async def test_events_and_uptime_survive_a_restart_and_downtime_is_not_uptime(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "usage.db"
    first = await UsageEngine.open(path, clock=clock)
    first.update_fleet(FLEET)
    first.record(event(EventKind.PRINTER_CONNECTED, clock.now))
    first.record(event(EventKind.JOB_STARTED, clock.now))
    clock.advance(hours=2)
    await first.close()  # Home Assistant stops for 3 hours

    clock.advance(hours=3)
    second = await UsageEngine.open(path, clock=clock)
    try:
        clock.advance(hours=1)
        summary = await second.week_summary()
        # 2 h + 1 h of Home Assistant runs; the 3 h in between are not assumed.
        assert summary.uptime_hours == 3.0
        assert summary.jobs_started == 1
        # Open intervals end with the run that observed them; they are not assumed to continue.
        assert (summary.print_hours, summary.printer_online_hours) == (2.0, 2.0)
        assert summary.printers_total == 4
        exported = await second.export_all()
        assert [e["kind"] for e in exported["events"]] == ["printer_connected", "job_started"]
        assert len(exported["runtime_sessions"]) == 2
    finally:
        await second.close()


async def test_heartbeat_extends_the_session_of_a_run_that_crashed(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "usage.db"
    crashed = await UsageEngine.open(path, clock=clock, flush_interval=0.01)
    clock.advance(minutes=30)
    await crashed.heartbeat()
    crashed.record(event(EventKind.JOB_STARTED, clock.now))

    def stored() -> bool:
        with closing(sqlite3.connect(path)) as raw:
            return bool(raw.execute("SELECT count(*) FROM events").fetchone()[0] == 1)

    # The background writer stores the event without flush() or close().
    await wait_until(stored)
    clock.advance(hours=2)  # Home Assistant "crashed" 30 minutes into its run

    after = await UsageEngine.open(path, clock=clock)
    try:
        summary = await after.week_summary()
        assert summary.uptime_hours == 0.5
        assert summary.jobs_started == 1
    finally:
        await after.close()
        await crashed.close()


async def test_a_full_batch_is_written_without_waiting_for_the_interval(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "usage.db"
    usage = await UsageEngine.open(path, clock=clock, flush_interval=3600, batch_size=10)
    try:
        for minute in range(25):
            usage.record(
                event(EventKind.PRINTER_ERROR, clock.now + timedelta(minutes=minute), code="E")
            )

        def a_batch_stored() -> bool:
            with closing(sqlite3.connect(path)) as raw:
                return bool(raw.execute("SELECT count(*) FROM events").fetchone()[0] >= 10)

        await wait_until(a_batch_stored)
    finally:
        await usage.close()
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("SELECT count(*) FROM events").fetchone()[0] == 25


async def test_completed_weeks_are_enqueued_once_each_since_sharing_began(
    engine: UsageEngine, clock: Clock
) -> None:
    engine.update_fleet(FLEET)
    sharing = context(first_seen=WEEK_46 + timedelta(days=2))
    assert await engine.enqueue_completed_weeks(sharing) == 0  # week 46 has not ended

    clock.now = WEEK_46 + timedelta(days=21, hours=3)
    assert await engine.enqueue_completed_weeks(sharing) == 3
    assert await engine.enqueue_completed_weeks(sharing) == 0
    items = await engine.outbox.items()
    assert [item.period_start for item in items] == [
        WEEK_46 + timedelta(days=7 * n) for n in range(3)
    ]
    assert all(item.status == "pending" and item.attempts == 0 for item in items)
    assert items[0].payload["period"] == {
        "start": "2026-11-09T00:00:00Z",
        "end": "2026-11-16T00:00:00Z",
        "duration_days": 7,
    }
    # Week precision: the Monday of the first week shared, never the moment of opt-in.
    assert items[0].payload["installation"]["first_seen"] == "2026-11-09T00:00:00Z"
    assert items[2].payload["printer_fleet"]["printer_count"] == 4
    assert await engine.outbox.pending_count() == 3

    clock.advance(days=7)
    assert await engine.enqueue_completed_weeks(sharing) == 1
    # Without a first_seen a new installation id starts with the last completed week only.
    other = context(installation_id="11111111-2222-4333-8444-555555555555")
    assert await engine.enqueue_completed_weeks(other) == 1
    assert await engine.outbox.discard(other.installation_id) == 1
    assert await engine.outbox.discard() == 4
    assert await engine.outbox.items() == []
    # Discarded is not forgotten: the weeks are never enqueued again for the same id.
    assert await engine.enqueue_completed_weeks(sharing) == 0


async def test_preview_is_the_oldest_pending_payload_else_the_current_week(
    engine: UsageEngine, clock: Clock
) -> None:
    preview = await engine.preview_next_payload(context())
    assert preview["period"]["start"] == "2026-11-09T00:00:00Z"
    clock.advance(days=8)
    await engine.enqueue_completed_weeks(context())
    (item,) = await engine.outbox.items()
    assert await engine.preview_next_payload(context()) == item.payload
    assert (await engine.build_payload(WEEK_46, context()))["period"] == item.payload["period"]


async def test_raw_events_are_pruned_after_the_retention_but_rollups_stay(
    tmp_path: Path, clock: Clock
) -> None:
    usage = await UsageEngine.open(tmp_path / "usage.db", clock=clock, raw_retention_days=7)
    try:
        assert usage.raw_retention_days == 7
        usage.record(event(EventKind.JOB_STARTED, clock.now))
        usage.record(event(EventKind.JOB_COMPLETED, clock.advance(hours=1)))
        await usage.flush()
        clock.advance(days=10)
        usage.record(event(EventKind.JOB_STARTED, clock.now))
        await usage.flush()
        exported = await usage.export_all()
        assert [e["kind"] for e in exported["events"]] == ["job_started"]
        week_46 = await usage.aggregate(WEEK_46)
        assert (week_46.jobs_started, week_46.jobs_completed, week_46.print_seconds) == (1, 1, 3600)
    finally:
        await usage.close()


async def test_settings_export_and_local_deletion(engine: UsageEngine, clock: Clock) -> None:
    await engine.set_setting("ha.installation_id", INSTALLATION_ID)
    assert await engine.get_setting("ha.installation_id") == INSTALLATION_ID
    await engine.set_setting("ha.installation_id", "other")
    assert await engine.get_setting("ha.installation_id") == "other"
    await engine.set_setting("ha.installation_id", None)
    assert await engine.get_setting("ha.installation_id") is None
    await engine.set_setting("kept", "yes")

    engine.update_fleet(FLEET)
    engine.record(event(EventKind.PRINTER_ERROR, clock.now, code="E1", severity="common"))
    clock.advance(days=8)
    await engine.enqueue_completed_weeks(context())
    exported = await engine.export_all()
    assert exported["schema_version"] == SCHEMA_VERSION
    assert exported["settings"]["kept"] == "yes"
    assert exported["printers"] == [{"key": "p1", "family": "bambu_lab", "model": "X1C"}]
    assert exported["printer_errors"] == [
        {"day": "2026-11-09", "printer": "p1", "code": "E1", "severity": "common", "count": 1}
    ]
    assert exported["printer_rollups"][0]["errors"] == 1
    assert exported["weekly_fleet"][0]["fleet"] == {
        "bambu_lab": {"P1S": 1, "X1C": 2},
        "klipper": {"unknown": 1},
    }
    assert exported["outbox"][0]["period_start"] == "2026-11-09T00:00:00Z"

    await engine.delete_local_data()
    after = await engine.export_all()
    for table in (
        "events",
        "printers",
        "printer_rollups",
        "printer_errors",
        "weekly_fleet",
        "outbox",
        "audit_log",
    ):
        assert after[table] == [], table
    assert len(after["runtime_sessions"]) == 1
    assert after["settings"]["kept"] == "yes"
    assert (await engine.week_summary()).printers_total == 0


async def test_schema_is_versioned_and_a_newer_database_is_refused(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "usage.db"
    usage = await UsageEngine.open(path, clock=clock)
    await usage.close()
    async with aiosqlite.connect(path) as db:
        async with db.execute("PRAGMA user_version") as cursor:
            assert await cursor.fetchone() == (SCHEMA_VERSION,)
        async with db.execute("PRAGMA journal_mode") as cursor:
            assert await cursor.fetchone() == ("wal",)
        await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNewError):
        await UsageEngine.open(path, clock=clock)


async def test_a_printer_that_changes_model_is_counted_under_the_new_one(
    engine: UsageEngine, clock: Clock
) -> None:
    engine.record(event(EventKind.JOB_STARTED, clock.now, model="unknown"))
    await engine.flush()
    engine.record(event(EventKind.JOB_COMPLETED, clock.now, model="X1C"))
    exported = await engine.export_all()
    assert exported["printers"] == [{"key": "p1", "family": "bambu_lab", "model": "X1C"}]
    # Rollups are per printer: its whole history counts under what it is now.
    week = await engine.aggregate(clock.now)
    assert {key: (f.jobs_started, f.jobs_completed) for key, f in week.by_model.items()} == {
        ("bambu_lab", "X1C"): (1, 1)
    }
