"""The incremental refresh of the analytics rollups from `submissions`.

Reads only the submissions received since the last refresh (minus a margin for requests that were
still being stored; `submissions.received_at` is indexed) that change what counts for their
(installation, week): new, replaced (a re-sent period), or a later window of the same week. Each
page is its own short transaction under the rollup lock (rollup_lock.py). Re-reading the margin is
harmless: a submission already counted is filtered out in SQL, and writing it again changes nothing.

The weeks whose summaries change and the installations whose summary totals move are those of the
submissions no earlier refresh listed in `rollup_margin_seen` — not every submission of the margin
again (at a steady ingest that was twelve refreshes' worth of work at every refresh). Listing comes
first, in one statement; what commits after it is taken now and again by the next refresh (both
steps are idempotent), so a late commit is never lost.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import and_, case, delete, exists, insert, literal, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_lock import STATE_ROW, lock_rollups
from receiver.analytics.rollup_rows import WeekRollup, counted_per_week, week_rollup
from receiver.analytics.summaries import mark_dirty, recompute_dirty
from receiver.analytics.summary_totals import move_installations, unmatched_installations
from receiver.db.dialect import upsert
from receiver.db.tables import (
    installation_spans,
    installation_week_errors,
    installation_week_features,
    installation_week_printers,
    installation_weeks,
    rollup_margin_seen,
    rollup_state,
    submissions,
)
from receiver.db.transactions import Database

# Longer than any request takes from choosing `received_at` to its commit (the statement timeout
# is 30 s), plus clock differences between receiver hosts.
MARGIN = timedelta(minutes=2)
PAGE_SIZE = 1000
SUMMARY_PAGE = 10_000  # installations moved in the summary totals per transaction
CHILD_TABLES = (installation_week_printers, installation_week_features, installation_week_errors)

_s = submissions.c
_w = installation_weeks.c
SOURCE_COLUMNS = (
    _s.id,
    _s.installation_id,
    _s.week_start,
    _s.period_end,
    _s.received_at,
    _s.schema_version,
    _s.deployment_mode,
    _s.country_code,
    _s.printer_count,
    _s.job_count,
    _s.aggregate,
)


@dataclass(frozen=True, slots=True)
class _Cursor:
    received_at: datetime
    submission_id: int


def changed_submissions(
    since: datetime | None, until: datetime, after: _Cursor | None, limit: int
) -> Any:
    """Submissions received before `until` that would change the rollups, oldest received first
    (keyset pagination); `replaces`: their week already has a rollup row."""
    counted = and_(_w.installation_id == _s.installation_id, _w.week == _s.week_start)
    statement = (
        select(*SOURCE_COLUMNS, _w.installation_id.is_not(None).label("replaces"))
        .select_from(submissions.outerjoin(installation_weeks, counted))
        .where(
            or_(
                _w.installation_id.is_(None),
                _s.period_end > _w.period_end,
                and_(_s.period_end == _w.period_end, _s.id > _w.submission_id),
                and_(_s.id == _w.submission_id, _s.received_at != _w.received_at),
            )
        )
        # what arrives during the refresh is left to the next one (never chasing a steady ingest)
        .where(_s.received_at < until)
        .order_by(_s.received_at, _s.id)
        .limit(limit)
    )
    if since is not None:
        statement = statement.where(_s.received_at >= since)
    if after is not None:
        # a row-value comparison: both databases walk the (received_at, id) index from there
        statement = statement.where(
            tuple_(_s.received_at, _s.id)
            > tuple_(
                literal(after.received_at, _s.received_at.type),
                literal(after.submission_id, _s.id.type),
            )
        )
    return statement


async def _write_counted(
    connection: AsyncConnection, rollups: list[WeekRollup], existing: set[tuple[str, Any]]
) -> None:
    """Write the counted rows; the child rows of `existing` keys (weeks that had a counted
    submission before) are replaced, the others only inserted."""
    dialect = connection.dialect.name
    statement = upsert(installation_weeks, dialect)
    replaced = {
        name: statement.excluded[name]
        for name in installation_weeks.c.keys()  # noqa: SIM118
        if name not in ("installation_id", "week")
    }
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[_w.installation_id, _w.week], set_=replaced
        ),
        [rollup.row for rollup in rollups],
    )
    keys = [(r.installation_id, r.week) for r in rollups if r.key in existing]
    for table in CHILD_TABLES:
        if keys:  # one set-based statement per table (a statement per key was the build's cost)
            await connection.execute(
                delete(table).where(tuple_(table.c.installation_id, table.c.week).in_(keys))
            )
        rows = [
            row
            for rollup in rollups
            for row in getattr(rollup, table.name.removeprefix("installation_week_"))
        ]
        if rows:
            await connection.execute(table.insert(), rows)
    await _widen_spans(connection, rollups)
    await mark_dirty(connection, (rollup.week for rollup in rollups))


async def _widen_spans(connection: AsyncConnection, rollups: list[WeekRollup]) -> None:
    """Widen the installations' spans to the new weeks (which are dirty), and mark the old first
    or last week of a span that moves dirty too (its new / gone-quiet count changes)."""
    spans: dict[str, tuple[Any, Any]] = {}
    for rollup in rollups:
        first, last = spans.get(rollup.installation_id, (rollup.week, rollup.week))
        spans[rollup.installation_id] = (min(first, rollup.week), max(last, rollup.week))
    known = installation_spans.c
    before = select(known.installation_id, known.first_week, known.last_week).where(
        known.installation_id.in_(sorted(spans))
    )
    moved = set()
    for installation_id, first, last in await connection.execute(before):
        new_first, new_last = spans[installation_id]
        if new_first < first:
            moved.add(first)
        if new_last > last:
            moved.add(last)
    await mark_dirty(connection, moved)
    statement = upsert(installation_spans, connection.dialect.name)
    current, excluded = installation_spans.c, statement.excluded
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[current.installation_id],
            set_={
                "first_week": case(
                    (excluded.first_week < current.first_week, excluded.first_week),
                    else_=current.first_week,
                ),
                "last_week": case(
                    (excluded.last_week > current.last_week, excluded.last_week),
                    else_=current.last_week,
                ),
            },
        ),
        [
            {"installation_id": installation_id, "first_week": first, "last_week": last}
            for installation_id, (first, last) in spans.items()
        ],
    )


async def _refresh_page(
    connection: AsyncConnection,
    since: datetime | None,
    until: datetime,
    after: _Cursor | None,
    limit: int,
) -> tuple[int, _Cursor | None]:
    await lock_rollups(connection)
    statement = changed_submissions(since, until, after, limit)
    rows = (await connection.execute(statement)).mappings().all()
    if not rows:
        return 0, None
    existing = {(str(row["installation_id"]), row["week_start"]) for row in rows if row["replaces"]}
    await _write_counted(
        connection, counted_per_week([week_rollup(dict(row)) for row in rows]), existing
    )
    last = rows[-1]
    return len(rows), _Cursor(last["received_at"], int(last["id"]))


_seen = rollup_margin_seen.c


async def list_margin(
    connection: AsyncConnection, watermark: datetime | None, until: datetime
) -> None:
    """List the submissions of the next refresh's margin [until - MARGIN, until) not yet listed, and
    forget those before this refresh's margin (no refresh reads them again)."""
    await lock_rollups(connection)
    if watermark is not None:
        await connection.execute(
            delete(rollup_margin_seen).where(_seen.received_at < watermark - MARGIN)
        )
    listed = exists().where(_seen.submission_id == _s.id, _seen.received_at == _s.received_at)
    margin = select(_s.id, _s.received_at, literal(until, _seen.refresh_until.type)).where(
        _s.received_at >= until - MARGIN, _s.received_at < until, ~listed
    )
    await connection.execute(
        insert(rollup_margin_seen).from_select(
            ["submission_id", "received_at", "refresh_until"], margin
        )
    )


def _new(watermark: datetime | None, until: datetime) -> Any:
    """Submissions received in [watermark - MARGIN, until) that no refresh listed which then
    completed (set the watermark): a failed refresh's listing does not count."""
    if watermark is None:
        return _s.received_at < until
    listed_before = exists().where(
        _seen.submission_id == _s.id,
        _seen.received_at == _s.received_at,
        _seen.refresh_until <= watermark,
    )
    return and_(_s.received_at >= watermark - MARGIN, _s.received_at < until, ~listed_before)


async def received_weeks(
    connection: AsyncConnection, watermark: datetime | None, until: datetime
) -> list[Any]:
    """The weeks of every new submission (`_new`): their stored-submission counts change even when
    the submission does not count for its week (an earlier window of the week)."""
    statement = select(_s.week_start).where(_new(watermark, until)).distinct()
    return list((await connection.execute(statement)).scalars())


async def _refresh_summary_totals(
    database: Database, watermark: datetime | None, until: datetime
) -> None:
    """Move the installations with a new submission (`_new`), and those in one of
    `installations` / `summary_installations` only, in the summary totals (summary_totals.py)."""

    async def received(connection: AsyncConnection) -> list[str]:
        statement = select(_s.installation_id).where(_new(watermark, until)).distinct()
        return [str(found) for found in (await connection.execute(statement)).scalars()]

    async def move(connection: AsyncConnection, ids: list[str]) -> None:
        await lock_rollups(connection)
        await move_installations(connection, ids)

    async def move_unmatched(connection: AsyncConnection) -> None:
        await lock_rollups(connection)
        await move_installations(connection, await unmatched_installations(connection))

    ids = sorted(await database.read(received))
    for start in range(0, len(ids), SUMMARY_PAGE):
        await database.write(partial(move, ids=ids[start : start + SUMMARY_PAGE]))
    await database.write(move_unmatched)


async def rollup_watermark(connection: AsyncConnection) -> datetime | None:
    """Up to when the rollups hold the submissions (set by every refresh)."""
    statement = select(rollup_state.c.watermark).where(rollup_state.c.name == STATE_ROW)
    value: datetime | None = (await connection.execute(statement)).scalar_one_or_none()
    return value


async def _set_watermark(connection: AsyncConnection, watermark: datetime) -> None:
    await lock_rollups(connection)
    await connection.execute(
        update(rollup_state).where(rollup_state.c.name == STATE_ROW).values(watermark=watermark)
    )


async def refresh_rollups(database: Database, now: datetime, page_size: int = PAGE_SIZE) -> int:
    """Bring the rollups up to date with the submissions received before `now` (the next refresh
    starts a margin before it); returns how many submissions were (re)read."""
    watermark = await database.read(rollup_watermark)
    since = None if watermark is None else watermark - MARGIN
    after: _Cursor | None = None
    total = 0
    while True:

        async def page(
            connection: AsyncConnection, after: _Cursor | None = after
        ) -> tuple[int, _Cursor | None]:
            return await _refresh_page(connection, since, now, after, page_size)

        count, after = await database.write(page)
        total += count
        if count < page_size or after is None:
            break

    async def summarise(connection: AsyncConnection) -> int:
        await lock_rollups(connection)
        return await recompute_dirty(connection)

    await database.write(partial(list_margin, watermark=watermark, until=now))

    async def mark_received_weeks(connection: AsyncConnection) -> None:
        await lock_rollups(connection)
        await mark_dirty(connection, await received_weeks(connection, watermark, now))

    await database.write(mark_received_weeks)
    await _refresh_summary_totals(database, watermark, now)
    while await database.write(summarise) > 0:  # a week may mark a later one dirty
        pass

    async def mark(connection: AsyncConnection) -> None:
        await _set_watermark(connection, now)

    await database.write(mark)
    return total
