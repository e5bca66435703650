"""The outbox (cursor per installation id, clock sanity, waits) and the typed sharing identities."""

import asyncio
import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from custom_components.printernizer_usage.engine.engine import UsageEngine
from custom_components.printernizer_usage.engine.identities import Identity

from .conftest import INSTALLATION_ID, WEEK_46, Clock, context

WEEK = timedelta(days=7)
OTHER_ID = "11111111-2222-4333-8444-555555555555"


def identity(installation_id: str = INSTALLATION_ID, **changes: object) -> Identity:
    base = Identity(
        installation_id=installation_id,
        secret=f"secret-of-{installation_id}",
        receiver_url="https://usage.example/base",
        submit_key="submit-key",
        first_week=WEEK_46,
        current=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_the_clock_going_back_enqueues_a_week_again_once_it_has_really_ended(
    engine: UsageEngine, clock: Clock
) -> None:
    sharing = context(first_seen=WEEK_46)
    outbox = engine.outbox
    # Nothing odd: nothing is rewound.
    clock.now = WEEK_46 + WEEK + timedelta(hours=2)
    assert await engine.enqueue_completed_weeks(sharing) == 1
    assert await outbox.rewind_unfinished_weeks(clock.now) == 0
    assert await outbox.last_enqueued_period(INSTALLATION_ID) == WEEK_46

    # The clock jumps a week ahead: week 47 looks complete, is enqueued, the receiver refuses it.
    clock.now = WEEK_46 + 2 * WEEK + timedelta(hours=2)
    assert await engine.enqueue_completed_weeks(sharing) == 1
    items = await outbox.items()
    await outbox.mark_rejected(items[-1], 400, "period ends in the future", clock.now)

    # Back to the right time: week 47 has not ended; it is dropped and will be enqueued again.
    clock.now = WEEK_46 + WEEK + timedelta(hours=3)
    assert await outbox.rewind_unfinished_weeks(clock.now) == 1
    assert await outbox.last_enqueued_period(INSTALLATION_ID) == WEEK_46
    assert [item.period_start for item in await outbox.items()] == [WEEK_46]
    assert await engine.enqueue_completed_weeks(sharing) == 0

    clock.now = WEEK_46 + 2 * WEEK + timedelta(minutes=1)
    assert await engine.enqueue_completed_weeks(sharing) == 1
    assert [(item.period_start, item.status) for item in await outbox.items()] == [
        (WEEK_46, "pending"),
        (WEEK_46 + WEEK, "pending"),
    ]


async def test_waits_computed_while_the_clock_was_ahead_are_shortened(
    engine: UsageEngine, clock: Clock
) -> None:
    clock.now = WEEK_46 + WEEK + timedelta(hours=1)
    await engine.enqueue_completed_weeks(context(first_seen=WEEK_46))
    (item,) = await engine.outbox.items()
    far = clock.now + timedelta(days=8)
    await engine.outbox.retry_later(item, far, "503: busy", 503, clock.now)
    assert await engine.outbox.next_attempt_at() == far
    latest = clock.now + timedelta(days=1)
    assert await engine.outbox.clamp_waits(latest) == 1
    assert await engine.outbox.clamp_waits(latest) == 0
    assert await engine.outbox.next_attempt_at(INSTALLATION_ID) == latest
    (audit,) = await engine.outbox.audit_entries()
    assert (audit.action, audit.status_code, audit.period_start) == ("submit", 503, WEEK_46)


async def test_only_the_oldest_item_of_each_id_counts_for_the_next_attempt(
    engine: UsageEngine, clock: Clock
) -> None:
    clock.now = WEEK_46 + 3 * WEEK + timedelta(hours=1)
    assert await engine.enqueue_completed_weeks(context(first_seen=WEEK_46)) == 3
    assert await engine.enqueue_completed_weeks(context(installation_id=OTHER_ID)) == 1
    items = await engine.outbox.items(INSTALLATION_ID)
    await engine.outbox.retry_later(items[0], clock.now + timedelta(hours=5), "x", None, clock.now)
    others = await engine.outbox.items(OTHER_ID)
    await engine.outbox.retry_later(others[0], clock.now + timedelta(hours=2), "x", None, clock.now)
    assert await engine.outbox.next_attempt_at(INSTALLATION_ID) == clock.now + timedelta(hours=5)
    assert await engine.outbox.next_attempt_at() == clock.now + timedelta(hours=2)
    assert await engine.outbox.last_delivery() is None
    await engine.outbox.mark_sent(others[0], 200, '{"status":"stored"}', clock.now)
    assert await engine.outbox.last_delivery() == clock.now


async def test_the_enqueue_cursor_moves_out_of_the_settings_table(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "usage.db"
    usage = await UsageEngine.open(path, clock=clock)
    await usage.close()
    # As the first release left it: schema 2, the cursor as a setting.
    async with aiosqlite.connect(path) as db:
        await db.executescript(
            "DROP TABLE identities; DROP TABLE outbox_cursor; PRAGMA user_version = 2; "
            "INSERT INTO settings VALUES "
            f"('engine.last_enqueued_period.{INSTALLATION_ID}', '{int(WEEK_46.timestamp())}'), "
            "('ha.installation_id', 'kept for the HA layer');"
        )
    usage = await UsageEngine.open(path, clock=clock)
    try:
        assert await usage.outbox.last_enqueued_period(INSTALLATION_ID) == WEEK_46
        exported = await usage.export_all()
        assert exported["settings"] == {"ha.installation_id": "kept for the HA layer"}
    finally:
        await usage.close()


async def test_identities_current_retired_and_deleted(engine: UsageEngine) -> None:
    identities = engine.identities
    assert await identities.current() is None
    first = identity()
    await identities.add(first)
    assert await identities.current() == first

    # A new current identity retires the old one, which is kept with its secret.
    second = identity(OTHER_ID, first_week=WEEK_46 + WEEK)
    await identities.add(second)
    assert await identities.current() == second
    assert await identities.all() == [second, replace(first, current=False)]

    # Its deletion is asked for, fails, waits, then is confirmed: the retired id is forgotten.
    await identities.request_deletion(first.installation_id)
    (retired,) = [item for item in await identities.all() if not item.current]
    assert retired.deletion_due(WEEK_46)
    await identities.deletion_failed(first.installation_id, WEEK_46 + timedelta(hours=1))
    (retired,) = [item for item in await identities.all() if not item.current]
    assert (retired.deletion_attempts, retired.deletion_due(WEEK_46)) == (1, False)
    assert retired.deletion_due(WEEK_46 + timedelta(hours=1))
    assert await identities.clamp_waits(WEEK_46 + timedelta(minutes=10)) == 1
    await identities.deletion_confirmed(first.installation_id)
    assert await identities.all() == [second]

    # The current identity's deletion leaves it current (sharing goes on under it).
    await identities.request_deletion(second.installation_id)
    await identities.deletion_confirmed(second.installation_id)
    assert await identities.all() == [second]

    # A refused key is lifted by a new one.
    await identities.set_refused(second.installation_id, 401)
    assert (await identities.current()) == replace(second, refused_status=401)
    await identities.set_receiver(second.installation_id, second.receiver_url, "new-key")
    assert (await identities.current()) == replace(second, submit_key="new-key")

    exported = await engine.export_all()
    assert exported["identities"] == [
        {
            "installation_id": OTHER_ID,
            "current": True,
            "first_week": "2026-11-16T00:00:00Z",
            "receiver_host": "usage.example",
            "deletion_requested": False,
            "deletion_attempts": 0,
        }
    ]
    assert second.secret not in str(exported)
    assert "new-key" not in str(exported)


async def test_at_most_one_identity_is_current(engine: UsageEngine, tmp_path: Path) -> None:
    await engine.identities.add(identity())
    await engine.identities.add(identity(OTHER_ID))
    assert [item.current for item in await engine.identities.all()] == [True, False]
    with (
        closing(sqlite3.connect(tmp_path / "usage.db")) as raw,
        pytest.raises(sqlite3.IntegrityError),
    ):
        raw.execute(
            f"UPDATE identities SET is_current = 1 WHERE installation_id = '{INSTALLATION_ID}'"
        )


async def test_a_write_cancelled_while_it_begins_leaves_no_transaction_open(
    engine: UsageEngine, clock: Clock
) -> None:
    """Unloading cancels a delivery round wherever it is; the shared connection must stay usable."""
    clock.now = WEEK_46 + WEEK + timedelta(hours=1)
    task = asyncio.create_task(engine.outbox.enqueue(INSTALLATION_ID, WEEK_46, {"week": 46}))
    await asyncio.sleep(0)  # it now waits for BEGIN IMMEDIATE in SQLite's thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await engine.outbox.enqueue(INSTALLATION_ID, WEEK_46, {"week": 46})
    assert [item.payload for item in await engine.outbox.items()] == [{"week": 46}]
