"""The analytics rollups are maintained incrementally: a refresh reads only what changed (and what
arrived late within the margin), a purge and a GDPR erasure take their rows along, and the refresher
runs at most once per interval and never twice at the same time."""

import asyncio
import copy
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics import refresher as refresher_module
from receiver.analytics.background import stop_refresh
from receiver.analytics.installations_sql import installation_counts
from receiver.analytics.refresher import RollupRefresher
from receiver.analytics.reliability import WeekRange
from receiver.analytics.reliability_sql import reliability_sums
from receiver.analytics.rollup_refresh import MARGIN, list_margin, received_weeks, refresh_rollups
from receiver.analytics.week_window import WeekWindow
from receiver.db.tables import (
    installation_spans,
    installation_weeks,
    rollup_state,
    submission_models,
    submissions,
    weekly_submissions,
)
from receiver.db.transactions import Database
from receiver.ingest.weeks import attributed_week
from receiver.installations.repository import erase
from receiver.retention import purge
from tests.receiver.analytics_world import ENV, FARM, generate, submit_all
from tests.receiver.conftest import query, server_env
from tests.receiver_server import run_receiver

MONDAY = date(2026, 11, 2)


async def store(
    database: Database,
    installation_id: str,
    monday: date,
    *,
    received_at: datetime,
    shift: timedelta = timedelta(0),
    version: str = "0.2.0",
) -> None:
    start = datetime.combine(monday, datetime.min.time(), tzinfo=UTC) + shift
    end = start + timedelta(weeks=1)
    aggregate = copy.deepcopy(FARM)
    aggregate["installation"]["installation_id"] = installation_id
    aggregate["installation"]["app_version"] = version

    async def work(connection: AsyncConnection) -> None:
        await connection.execute(
            insert(submissions).values(
                installation_id=installation_id,
                period_start=start,
                period_end=end,
                week_start=attributed_week(end),
                received_at=received_at,
                schema_version="1.1",
                country_code="FR",
                deployment_mode="haos",
                data_source="home_assistant",
                printer_count=4,
                job_count=33,
                aggregate=aggregate,
            )
        )

    await database.write(work)


async def counted(database: Database) -> list[tuple[Any, ...]]:
    async def work(connection: AsyncConnection) -> list[tuple[Any, ...]]:
        rows = await connection.execute(
            select(
                installation_weeks.c.installation_id,
                installation_weeks.c.week,
                installation_weeks.c.app_version,
            ).order_by(installation_weeks.c.installation_id, installation_weeks.c.week)
        )
        return [tuple(row) for row in rows]

    return await database.read(work)


async def scalar(database: Database, statement: Any) -> Any:
    async def work(connection: AsyncConnection) -> Any:
        return (await connection.execute(statement)).scalar_one()

    return await database.read(work)


async def test_a_refresh_reads_only_what_changed(database: Database) -> None:
    now = datetime.now(UTC)
    for index in range(3):
        await store(
            database,
            f"inst-{index}",
            MONDAY,
            received_at=now - timedelta(hours=1),
            shift=-timedelta(days=3),  # 1.0-style windows: ending on Friday of MONDAY's week
        )
    assert await refresh_rollups(database, now) == 3
    assert await refresh_rollups(database, now + timedelta(seconds=5)) == 0
    # a later window of the same week (ending on Sunday) counts instead
    await store(
        database, "inst-0", MONDAY, received_at=now, shift=-timedelta(days=1), version="0.3.0"
    )
    assert await refresh_rollups(database, now + timedelta(seconds=10)) == 1
    rows = await counted(database)
    assert ("inst-0", MONDAY, "0.3.0") in rows
    assert len(rows) == 3
    # an earlier window of that week changes nothing and is not even read
    await store(
        database, "inst-0", MONDAY, received_at=now, shift=-timedelta(days=2), version="0.1.0"
    )
    assert await refresh_rollups(database, now + timedelta(seconds=15)) == 0
    assert ("inst-0", MONDAY, "0.3.0") in await counted(database)


async def test_a_submission_committed_late_within_the_margin_is_not_missed(
    database: Database,
) -> None:
    now = datetime.now(UTC)
    await store(database, "early", MONDAY, received_at=now)
    assert await refresh_rollups(database, now + timedelta(seconds=1)) == 1
    # a request that chose its received_at before that refresh but committed after it
    await store(database, "late", MONDAY, received_at=now - MARGIN / 2)
    assert await refresh_rollups(database, now + timedelta(seconds=2)) == 1
    assert [row[0] for row in await counted(database)] == ["early", "late"]
    watermark = await scalar(database, select(rollup_state.c.watermark))
    assert watermark is not None


async def stored_in_week(database: Database, monday: date) -> int:
    statement = select(weekly_submissions.c.submissions).where(weekly_submissions.c.week == monday)
    return int(await scalar(database, statement))


async def new_weeks(database: Database, until: datetime) -> list[date]:
    """The weeks the next refresh (up to `until`) would mark for a new submission."""
    watermark = await scalar(database, select(rollup_state.c.watermark))

    async def work(connection: AsyncConnection) -> list[date]:
        return await received_weeks(connection, watermark, until)

    return await database.read(work)


async def test_the_margin_is_re_read_only_for_what_no_refresh_listed(database: Database) -> None:
    """A refresh marks a week again only for submissions the last completed refresh did not see —
    not for every submission of the margin (twelve refreshes' worth of work at each one) — and an
    earlier window of a counted week, committed late within the margin, still reaches the week's
    stored-submission count."""
    now = datetime.now(UTC)
    await store(database, "inst", MONDAY, received_at=now)
    await refresh_rollups(database, now + timedelta(seconds=1))
    assert await stored_in_week(database, MONDAY) == 1
    assert await new_weeks(database, now + timedelta(seconds=2)) == []
    # an earlier window of the same week, received before that refresh, committed after it
    await store(database, "inst", MONDAY, received_at=now - MARGIN / 2, shift=-timedelta(days=1))
    assert await new_weeks(database, now + timedelta(seconds=2)) == [MONDAY]
    await refresh_rollups(database, now + timedelta(seconds=2))
    assert await stored_in_week(database, MONDAY) == 2
    assert await new_weeks(database, now + timedelta(seconds=3)) == []


async def test_a_failed_refreshs_listing_does_not_hide_a_submission(database: Database) -> None:
    now = datetime.now(UTC)
    await store(database, "inst", MONDAY, received_at=now)
    await refresh_rollups(database, now + timedelta(seconds=1))
    watermark = await scalar(database, select(rollup_state.c.watermark))
    await store(database, "inst", MONDAY, received_at=now - MARGIN / 2, shift=-timedelta(days=1))
    # a refresh that listed the margin and then failed (no watermark set)
    await database.write(
        lambda connection: list_margin(connection, watermark, now + timedelta(seconds=2))
    )
    await refresh_rollups(database, now + timedelta(seconds=3))
    assert await stored_in_week(database, MONDAY) == 2


async def test_stopping_lets_a_refresh_in_progress_finish(database: Database) -> None:
    """Shutdown waits for the background refresh's current round instead of cancelling it in the
    middle of a transaction (which left a database connection unreturned)."""
    now = datetime.now(UTC)
    for index in range(200):
        await store(database, f"inst-{index}", MONDAY, received_at=now - timedelta(minutes=1))
    refresher = RollupRefresher(database, 3600)
    task = asyncio.create_task(refresher.run(lambda: MONDAY, first_after_seconds=0))
    await asyncio.sleep(0.02)  # the first round has begun and not finished:
    watermarks = select(func.count()).where(rollup_state.c.watermark.is_not(None))
    assert await scalar(database, watermarks) == 0
    await stop_refresh(refresher, task)
    assert task.done()
    assert not task.cancelled()
    assert await scalar(database, select(rollup_state.c.watermark)) is not None
    assert len(await counted(database)) == 200


async def test_purge_and_erasure_take_their_rollups_along(database: Database) -> None:
    now = datetime.now(UTC)
    old_monday = MONDAY - timedelta(weeks=120)
    await store(database, "old", old_monday, received_at=now - timedelta(minutes=1))
    await store(database, "kept", old_monday, received_at=now - timedelta(minutes=1))
    await store(database, "kept", MONDAY, received_at=now - timedelta(minutes=1))
    await refresh_rollups(database, now)
    assert len(await counted(database)) == 3
    result = await purge(database, 730, now=now)
    assert result.submissions == 2
    assert await counted(database) == [("kept", MONDAY, "0.2.0")]
    assert await scalar(database, select(func.count()).select_from(installation_spans)) == 1

    async def erase_kept(connection: AsyncConnection) -> int:
        return await erase(connection, "kept")

    await database.write(erase_kept)
    assert await counted(database) == []
    assert await scalar(database, select(func.count()).select_from(installation_spans)) == 0
    # and a refresh does not bring them back
    assert await refresh_rollups(database, now + timedelta(seconds=1)) == 0
    assert await counted(database) == []


async def test_a_re_sent_period_replaces_its_rollup(database: Database) -> None:
    now = datetime.now(UTC)
    await store(database, "inst", MONDAY, received_at=now - timedelta(minutes=5))
    await refresh_rollups(database, now - timedelta(minutes=4))
    aggregate = copy.deepcopy(FARM)
    aggregate["installation"]["app_version"] = "0.9.9"

    async def resend(connection: AsyncConnection) -> None:
        await connection.execute(
            update(submissions).values(aggregate=aggregate, received_at=now)  # what the upsert does
        )

    await database.write(resend)
    assert await refresh_rollups(database, now) == 0  # received at `now`: the next refresh's
    assert await refresh_rollups(database, now + timedelta(seconds=1)) == 1
    assert await counted(database) == [("inst", MONDAY, "0.9.9")]


async def set_models(
    database: Database, installation_id: str, monday: date, models: list[str], received_at: datetime
) -> None:
    """Give the installation's stored week these Bambu Lab models (its breakdown), received again
    at `received_at` (what a re-sent period does)."""
    start = datetime.combine(monday, datetime.min.time(), tzinfo=UTC)

    async def work(connection: AsyncConnection) -> None:
        found = select(submissions.c.id).where(
            submissions.c.installation_id == installation_id, submissions.c.period_start == start
        )
        submission_id = (await connection.execute(found)).scalar_one()
        await connection.execute(
            delete(submission_models).where(submission_models.c.submission_id == submission_id)
        )
        zero = dict.fromkeys(("jobs_started", "jobs_completed", "jobs_failed", "jobs_cancelled"), 0)
        await connection.execute(
            insert(submission_models),
            [
                {
                    **zero,
                    "submission_id": submission_id,
                    "family": "bambu_lab",
                    "model": model,
                    "week": monday,
                    "printers": 1,
                    "active_printers": 1,
                    "jobs_ended_without_outcome": 0,
                    "print_centihours": 100,
                    "paused_centihours": 0,
                }
                for model in models
            ],
        )
        await connection.execute(
            update(submissions)
            .where(submissions.c.id == submission_id)
            .values(received_at=received_at)
        )

    await database.write(work)


async def installations_per_model(database: Database, since: date, until: date) -> dict[str, int]:
    async def work(connection: AsyncConnection) -> dict[str, int]:
        usage, _ = await reliability_sums(connection, WeekRange(since, until))
        return {row["model"]: int(row["installations"] or 0) for row in usage}

    return await database.read(work)


async def test_a_re_sent_week_with_other_models_moves_the_next_weeks_first(
    database: Database,
) -> None:
    """An installation counts once per model over a range, at its first week with the model there
    (weekly_model_firsts): when a week loses a model, the next week with it becomes the first."""
    now = datetime.now(UTC)
    weeks = [MONDAY - timedelta(weeks=2), MONDAY - timedelta(weeks=1), MONDAY]
    for week in weeks:
        await store(database, "inst", week, received_at=now - timedelta(hours=1))
        await set_models(database, "inst", week, ["X1C"], now - timedelta(hours=1))
    await refresh_rollups(database, now)
    assert await installations_per_model(database, weeks[1], MONDAY) == {"X1C": 1}
    # long after the margin, only the middle week is re-sent: P1S instead of X1C
    later = now + timedelta(hours=1)
    await set_models(database, "inst", weeks[1], ["P1S"], later)
    assert await refresh_rollups(database, later + timedelta(seconds=1)) == 1
    assert await installations_per_model(database, weeks[1], MONDAY) == {"X1C": 1, "P1S": 1}
    assert await installations_per_model(database, weeks[0], MONDAY) == {"X1C": 1, "P1S": 1}
    assert await installations_per_model(database, MONDAY, MONDAY) == {"X1C": 1}


async def first_and_last_per_week(database: Database, until: date) -> dict[date, tuple[int, int]]:
    """Installations whose first / last counted week it is, per week of the 4 ending with `until`."""

    async def work(connection: AsyncConnection) -> dict[date, tuple[int, int]]:
        window = WeekWindow(weeks=4, until=until)
        _, _, firsts, lasts = await installation_counts(connection, window, datetime.now(UTC))
        new = {row["first_week"]: row["installations"] for row in firsts}
        last = {row["last_week"]: row["installations"] for row in lasts}
        return {week: (new.get(week, 0), last.get(week, 0)) for week in window.mondays()[:-1]}

    return await database.read(work)


async def test_a_span_that_moves_updates_the_weeks_it_left(database: Database) -> None:
    """weekly_spans counts installations whose first / last week a week is: a later and an earlier
    week arriving long after the margin move them out of the week that was both."""
    now = datetime.now(UTC)
    weeks = [MONDAY - timedelta(weeks=2), MONDAY - timedelta(weeks=1), MONDAY]
    until = MONDAY + timedelta(weeks=1)
    await store(database, "inst", weeks[1], received_at=now - timedelta(hours=2))
    await refresh_rollups(database, now - timedelta(hours=1))
    counts = await first_and_last_per_week(database, until)
    assert [counts[week] for week in weeks] == [(0, 0), (1, 1), (0, 0)]
    await store(database, "inst", weeks[2], received_at=now)
    await store(database, "inst", weeks[0], received_at=now)
    await refresh_rollups(database, now + timedelta(seconds=1))
    counts = await first_and_last_per_week(database, until)
    assert [counts[week] for week in weeks] == [(1, 0), (0, 0), (0, 1)]


async def test_the_refresher_runs_once_per_interval_and_never_twice_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[float] = []
    clock = [100.0]

    async def slow_refresh(database: Any, now: datetime) -> int:
        calls.append(clock[0])
        await asyncio.sleep(0.05)
        return 0

    monkeypatch.setattr(refresher_module, "refresh_rollups", slow_refresh)
    refresher = RollupRefresher(database=None, min_interval_seconds=10, clock=lambda: clock[0])  # type: ignore[arg-type]
    await asyncio.gather(*(refresher.ensure_fresh() for _ in range(5)))
    assert len(calls) == 1  # the four that came during the refresh shared it
    clock[0] += 5
    await refresher.ensure_fresh()
    assert len(calls) == 1  # within the interval
    await refresher.ensure_fresh(force=True)
    assert len(calls) == 2
    clock[0] += 11
    await refresher.ensure_fresh()
    assert len(calls) == 3


def test_the_server_refreshes_the_rollups_in_the_background(
    database_url: str, tmp_path: Path
) -> None:
    world = generate(9, installations=3, weeks=2)
    env = server_env(**{**ENV, "RECEIVER_ROLLUP_INTERVAL_SECONDS": "1"})
    with (
        run_receiver(database_url, tmp_path, env) as receiver,
        httpx.Client(timeout=60) as http,
    ):
        submit_all(http, receiver.url, world)
        deadline = time.monotonic() + 30
        rolled: list[tuple[Any, ...]] = []
        while time.monotonic() < deadline and not rolled:
            time.sleep(0.5)  # no analytics request: only the background task can fill them
            rolled = asyncio.run(
                query(database_url, "SELECT installation_id FROM installation_weeks")
            )
    assert {row[0] for row in rolled} == {i for i, _ in world.sent}
