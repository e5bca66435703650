"""Summaries of the rollups, recomputed per week (`weekly_counts`, `weekly_jobs`,
`weekly_model_jobs`) and per active window (`window_counts`) for the weeks marked dirty.

A refresh marks the weeks whose counted submissions changed; an erasure or a purge marks the weeks
they took rows from. Recomputing a week is a handful of GROUP BYs over that week's rows only; the
windows that week is part of (it and the `ACTIVE_WEEKS` - 1 weeks after it) become stale and are
recomputed when an answer asks for one (an answer needs one window, and most windows are never asked
for). Everything runs under the rollup lock, in the caller's transaction. The answers then read a few
rows per week.
"""

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.model_rollups import recompute_model_week
from receiver.analytics.printers import BUCKETS
from receiver.analytics.week_window import ACTIVE_WEEKS, WEEK
from receiver.db.dialect import upsert
from receiver.db.tables import (
    dirty_weeks,
    installation_spans,
    installation_week_errors,
    installation_week_features,
    installation_week_printers,
    installation_weeks,
    stale_windows,
    submission_models,
    weekly_counts,
    weekly_jobs,
    weekly_model_jobs,
    weekly_spans,
    window_counts,
    window_latest,
)

weeks_c = installation_weeks.c
models_c = submission_models.c
BATCH = 16  # dirty weeks recomputed per transaction


async def mark_dirty(connection: AsyncConnection, weeks: Iterable[date]) -> None:
    rows = [{"week": week} for week in sorted(set(weeks))]
    if rows:
        statement = upsert(dirty_weeks, connection.dialect.name).on_conflict_do_nothing()
        await connection.execute(statement, rows)


async def mark_dirty_where(connection: AsyncConnection, condition: ColumnElement[bool]) -> None:
    """Mark the weeks of the `installation_weeks` rows matching `condition` (before deleting them)."""
    found = select(weeks_c.week).where(condition).distinct()
    await mark_dirty(connection, (await connection.execute(found)).scalars())


def _zero() -> Any:
    return literal(0)


def _text(value: str) -> Any:
    return literal(value)


def _key(value: Any) -> Any:
    """A grouping column, or a constant key (a literal, never grouped by)."""
    return _text(value) if isinstance(value, str) else value


def _grouped(*keys: Any) -> list[Any]:
    return [key for key in keys if not isinstance(key, str)]


def _weekly_counts(week: date) -> CompoundSelect[Any]:
    this_week = weeks_c.week == week
    no_jobs = [_zero(), _zero(), _zero()]
    job_sums = [
        func.coalesce(func.sum(weeks_c.jobs_completed), 0),
        func.coalesce(func.sum(weeks_c.jobs_failed), 0),
        func.coalesce(func.sum(weeks_c.jobs_cancelled), 0),
    ]

    def by(dimension: str, key1: Any, key2: Any, *, jobs: bool = False) -> Select[Any]:
        return (
            select(
                literal(week),
                _text(dimension),
                _key(key1),
                _key(key2),
                func.count(),
                _zero(),
                *(job_sums if jobs else no_jobs),
            )
            .where(this_week)
            .group_by(*_grouped(key1, key2))
        )

    features = installation_week_features.c
    printers = installation_week_printers.c
    errors = installation_week_errors.c
    return union_all(
        select(
            literal(week),
            _text("active"),
            _text(""),
            _text(""),
            func.count(),
            func.coalesce(func.sum(weeks_c.printer_count), 0),
            *no_jobs,
        )
        .where(this_week)
        .having(func.count() > 0),
        by("version", weeks_c.product, weeks_c.app_version, jobs=True),
        by("mode", weeks_c.deployment_mode, ""),
        by("country", weeks_c.country_code, ""),
        select(
            literal(week),
            _text("feature"),
            features.feature,
            _text(""),
            func.count(),
            *[_zero()] * 4,
        )
        .where(features.week == week)
        .group_by(features.feature),
        select(
            literal(week),
            _text("printers"),
            printers.family,
            printers.model,
            func.count(),
            func.sum(printers.printers),
            *no_jobs,
        )
        .where(printers.week == week)
        .group_by(printers.family, printers.model),
        select(
            literal(week),
            _text("error"),
            errors.kind,
            errors.name,
            func.count(),
            func.sum(errors.count),
            *no_jobs,
        )
        .where(errors.week == week)
        .group_by(errors.kind, errors.name),
    )


async def _recompute_spans(connection: AsyncConnection, week: date) -> None:
    """`weekly_spans`: installations whose first / last counted week this is. A span's old first
    or last week is marked dirty wherever the span moves (rollup_refresh.py, rollup_erase.py)."""
    spans = installation_spans.c
    firsts = select(func.count()).where(spans.first_week == week).scalar_subquery()
    lasts = select(func.count()).where(spans.last_week == week).scalar_subquery()
    counts = select(
        literal(week, installation_spans.c.first_week.type).label("week"),
        firsts.label("firsts"),
        lasts.label("lasts"),
    ).subquery("counts")
    await connection.execute(
        insert(weekly_spans).from_select(
            ["week", "first_week_installations", "last_week_installations"],
            select(counts).where((counts.c.firsts > 0) | (counts.c.lasts > 0)),
        )
    )


def _job_sums(table: Any) -> list[Any]:
    c = table.c
    return [
        func.sum(c.jobs_started),
        func.sum(c.jobs_completed),
        func.sum(c.jobs_failed),
        func.sum(c.jobs_cancelled),
        func.sum(c.jobs_ended_without_outcome),
        func.sum(c.print_centihours),
        func.sum(c.paused_centihours),
        func.sum(c.filament_cm),
        func.count(c.filament_cm),
    ]


async def recompute_week(connection: AsyncConnection, week: date) -> list[date]:
    """Recompute the week's summaries; returns the later weeks whose model rollups changed with it
    (model_rollups.py)."""
    later_weeks = await recompute_model_week(connection, week)
    for table in (weekly_counts, weekly_jobs, weekly_model_jobs, weekly_spans):
        await connection.execute(delete(table).where(table.c.week == week))
    await connection.execute(
        insert(weekly_counts).from_select(
            [
                "week",
                "dimension",
                "key1",
                "key2",
                "installations",
                "amount",
                "completed",
                "failed",
                "cancelled",
            ],
            _weekly_counts(week),
        )
    )
    await _recompute_spans(connection, week)
    legacy = func.sum(case((weeks_c.jobs_completed.is_(None), weeks_c.job_count), else_=0))
    await connection.execute(
        insert(weekly_jobs).from_select(
            [column.key for column in weekly_jobs.c],
            select(
                literal(week),
                func.count(),
                func.count(weeks_c.jobs_completed),
                *_job_sums(installation_weeks),
                legacy,
                func.sum(weeks_c.errors),
            )
            .where(weeks_c.week == week)
            .having(func.count() > 0),
        )
    )
    counted_models = submission_models.join(
        installation_weeks, weeks_c.submission_id == models_c.submission_id
    )
    await connection.execute(
        insert(weekly_model_jobs).from_select(
            [column.key for column in weekly_model_jobs.c],
            select(
                literal(week),
                models_c.family,
                models_c.model,
                func.count(),
                *_job_sums(submission_models),
            )
            .select_from(counted_models)
            .where(weeks_c.week == week)
            .group_by(models_c.family, models_c.model),
        )
    )
    return later_weeks


def _bucket(column: Any) -> Any:
    return case(
        *[
            (column <= high if high is not None else column >= low, label)
            for label, low, high in BUCKETS
        ]
    )


async def recompute_window(connection: AsyncConnection, until: date) -> None:
    """`window_counts` for the window ending with `until`, from each installation's latest report."""
    await connection.execute(delete(window_counts).where(window_counts.c.until_week == until))
    await connection.execute(delete(window_latest))
    in_window = weeks_c.week.between(until - (ACTIVE_WEEKS - 1) * WEEK, until)
    await connection.execute(
        insert(window_latest).from_select(
            ["installation_id", "week"],
            select(weeks_c.installation_id, func.max(weeks_c.week))
            .where(in_window)
            .group_by(weeks_c.installation_id),
        )
    )
    if connection.dialect.name == "postgresql":
        await connection.execute(text("ANALYZE window_latest"))  # its size changes every time
    latest = window_latest.c

    def joined(table: Any) -> Any:
        # the week range lets the planner start from the week index of the (large) rollup table
        return table.join(
            window_latest,
            and_(
                table.c.installation_id == latest.installation_id,
                table.c.week == latest.week,
                table.c.week.between(until - (ACTIVE_WEEKS - 1) * WEEK, until),
            ),
        )

    reports = joined(installation_weeks)
    printers = installation_week_printers.c
    features = installation_week_features.c
    bucket = _bucket(weeks_c.printer_count)

    def by(
        dimension: str,
        key1: Any,
        key2: Any,
        source: Any,
        *,
        amount: Any = None,
        count: Any = None,
    ) -> Select[Any]:
        return (
            select(
                literal(until),
                _text(dimension),
                _key(key1),
                _key(key2),
                count if count is not None else func.count(),
                amount if amount is not None else _zero(),
            )
            .select_from(source)
            .group_by(*_grouped(key1, key2))
        )

    rows = union_all(
        select(
            literal(until),
            _text("active"),
            _text(""),
            _text(""),
            func.count(),
            func.coalesce(func.sum(weeks_c.printer_count), 0),
        )
        .select_from(reports)
        .having(func.count() > 0),
        by("version", weeks_c.product, weeks_c.app_version, reports),
        by("mode", weeks_c.deployment_mode, "", reports),
        by("country", weeks_c.country_code, "", reports),
        by("bucket", bucket, "", reports),
        by("feature", features.feature, "", joined(installation_week_features)),
        by(
            "printers",
            printers.family,
            printers.model,
            joined(installation_week_printers),
            amount=func.sum(printers.printers),
        ),
        by(
            "family",
            printers.family,
            "",
            joined(installation_week_printers),
            amount=func.sum(printers.printers),
            count=func.count(func.distinct(printers.installation_id)),
        ),
    )
    await connection.execute(
        insert(window_counts).from_select(
            ["until_week", "dimension", "key1", "key2", "installations", "amount"], rows
        )
    )


async def recompute_dirty(connection: AsyncConnection, batch: int = BATCH) -> int:
    """Recompute up to `batch` dirty weeks (oldest first), mark the later weeks their model rollups
    changed dirty, and mark the windows they are part of stale (recomputed when asked for:
    window_is_stale / recompute_window); returns how many weeks were recomputed."""
    weeks = list(
        (
            await connection.execute(
                select(dirty_weeks.c.week).order_by(dirty_weeks.c.week).limit(batch)
            )
        ).scalars()
    )
    later_weeks: set[date] = set()
    for week in weeks:  # oldest first: a later week of the batch sees the earlier ones' changes
        later_weeks.update(await recompute_week(connection, week))
    await mark_dirty(connection, later_weeks - set(weeks))
    windows = {week + offset * WEEK for week in weeks for offset in range(ACTIVE_WEEKS)}
    if windows:
        statement = upsert(stale_windows, connection.dialect.name).on_conflict_do_nothing()
        await connection.execute(statement, [{"until_week": until} for until in sorted(windows)])
    if weeks:
        await connection.execute(delete(dirty_weeks).where(dirty_weeks.c.week.in_(weeks)))
    return len(weeks)


async def window_is_stale(connection: AsyncConnection, until: date) -> bool:
    found = select(stale_windows.c.until_week).where(stale_windows.c.until_week == until)
    return (await connection.execute(found)).first() is not None


async def refresh_window(connection: AsyncConnection, until: date) -> None:
    """Recompute the window ending with `until` if it is stale (under the caller's rollup lock)."""
    if await window_is_stale(connection, until):
        await recompute_window(connection, until)
        await connection.execute(delete(stale_windows).where(stale_windows.c.until_week == until))
