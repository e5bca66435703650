"""The per-model breakdown and the stored submissions of one week, summarised (summaries.py calls it
for every dirty week, under the rollup lock, in the caller's transaction).

Schema 1.1 periods are whole ISO weeks and one installation stores a period once, so each installation
has at most one submission with a breakdown per week, and a breakdown row's `week` is its submission's
`week_start`: the week's breakdown rows are what counts for it (GET /stats/reliability).

- `weekly_model_usage`, `weekly_model_errors`: the week's sums per (family, model) and per code.
- `installation_week_models`: the (installation, family, model) keys with usage in the week, and
  `weekly_model_firsts`: those keys counted by the installation's previous week with the same model
  (NULL: none). Installations per model over weeks `since`…`until` are then the keys of the range
  whose previous week is before `since` (or NULL) — each installation counted once, at its first week
  in the range. When a week's keys change, the next week of each changed key has a new previous week:
  that week is returned to be marked dirty (its own keys do not change, so nothing cascades).
- `weekly_submissions`: how many submissions were stored for the week (windows that do not count
  for their week included).
"""

from datetime import date
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.db.tables import (
    installation_week_models,
    submission_model_errors,
    submission_models,
    submissions,
    weekly_model_errors,
    weekly_model_firsts,
    weekly_model_usage,
    weekly_submissions,
)

_m = submission_models.c
_e = submission_model_errors.c
_s = submissions.c
_k = installation_week_models.c

# weekly_model_usage column -> submission_models column summed into it
USAGE_SUMS = {
    "printer_weeks": _m.printers,
    "active_printer_weeks": _m.active_printers,
    "jobs_started": _m.jobs_started,
    "jobs_completed": _m.jobs_completed,
    "jobs_failed": _m.jobs_failed,
    "jobs_cancelled": _m.jobs_cancelled,
    "jobs_ended_without_outcome": _m.jobs_ended_without_outcome,
    "print_centihours": _m.print_centihours,
    "paused_centihours": _m.paused_centihours,
}
USAGE_COLUMNS = [
    "week",
    "family",
    "model",
    "installation_weeks",
    *USAGE_SUMS,
    "filament_cm",
    "filament_reports",
]


def _reported_keys(week: date) -> Any:
    """(installation_id, family, model) of the week's breakdown rows (a breakdown row's week is its
    submission's week_start: the condition on both lets PostgreSQL read one partition)."""
    return (
        select(_s.installation_id, _m.family, _m.model)
        .select_from(submission_models.join(submissions, _s.id == _m.submission_id))
        .where(_m.week == week, _s.week_start == week)
    )


def _same_key(table: Any, installation_id: Any, family: Any, model: Any) -> Any:
    return and_(
        table.c.installation_id == installation_id,
        table.c.family == family,
        table.c.model == model,
    )


async def _weeks_after_changed_keys(connection: AsyncConnection, week: date) -> list[date]:
    """The next week (after `week`) of every key that the week gains or loses."""
    kept = installation_week_models.alias("kept")
    gone = select(kept.c.installation_id, kept.c.family, kept.c.model).where(
        kept.c.week == week,
        ~exists().where(
            _s.week_start == week,
            _s.installation_id == kept.c.installation_id,
            _m.submission_id == _s.id,
            _m.family == kept.c.family,
            _m.model == kept.c.model,
        ),
    )
    reported = _reported_keys(week).subquery("reported")
    new = select(reported.c.installation_id, reported.c.family, reported.c.model).where(
        ~exists().where(
            _same_key(
                installation_week_models,
                reported.c.installation_id,
                reported.c.family,
                reported.c.model,
            ),
            _k.week == week,
        )
    )
    changed = union_all(gone, new).subquery("changed")
    later = installation_week_models.alias("later")
    next_week = (
        select(func.min(later.c.week))
        .where(
            _same_key(later, changed.c.installation_id, changed.c.family, changed.c.model),
            later.c.week > week,
        )
        .scalar_subquery()
    )
    found = select(next_week.label("week")).select_from(changed).distinct()
    return sorted(value for value in (await connection.execute(found)).scalars() if value)


async def recompute_model_week(connection: AsyncConnection, week: date) -> list[date]:
    """Replace the week's model rollups and submission count; returns the later weeks whose
    `weekly_model_firsts` changed with it (to be marked dirty)."""
    later_weeks = await _weeks_after_changed_keys(connection, week)
    for table in (
        installation_week_models,
        weekly_model_firsts,
        weekly_model_usage,
        weekly_model_errors,
        weekly_submissions,
    ):
        await connection.execute(delete(table).where(table.c.week == week))
    await connection.execute(
        insert(installation_week_models).from_select(
            ["installation_id", "family", "model", "week"],
            select(_s.installation_id, _m.family, _m.model, literal(week, _m.week.type))
            .select_from(submission_models.join(submissions, _s.id == _m.submission_id))
            .where(_m.week == week, _s.week_start == week),
        )
    )
    earlier = installation_week_models.alias("earlier")
    this_week = installation_week_models.alias("this_week")
    previous = (
        select(func.max(earlier.c.week))
        .where(
            _same_key(earlier, this_week.c.installation_id, this_week.c.family, this_week.c.model),
            earlier.c.week < week,
        )
        .scalar_subquery()
    )
    keys = (
        select(this_week.c.family, this_week.c.model, previous.label("previous_week"))
        .where(this_week.c.week == week)
        .subquery("keys")
    )
    await connection.execute(
        insert(weekly_model_firsts).from_select(
            ["week", "family", "model", "previous_week", "installations"],
            select(
                literal(week, _m.week.type),
                keys.c.family,
                keys.c.model,
                keys.c.previous_week,
                func.count(),
            ).group_by(keys.c.family, keys.c.model, keys.c.previous_week),
        )
    )
    await connection.execute(
        insert(weekly_model_usage).from_select(
            USAGE_COLUMNS,
            select(
                literal(week, _m.week.type),
                _m.family,
                _m.model,
                func.count(),
                *(func.sum(column) for column in USAGE_SUMS.values()),
                func.sum(_m.filament_cm),
                func.count(_m.filament_cm),
            )
            .where(_m.week == week)
            .group_by(_m.family, _m.model),
        )
    )
    await connection.execute(
        insert(weekly_model_errors).from_select(
            ["week", "family", "model", "code", "count"],
            select(literal(week, _e.week.type), _e.family, _e.model, _e.code, func.sum(_e.count))
            .where(_e.week == week)
            .group_by(_e.family, _e.model, _e.code),
        )
    )
    await connection.execute(
        insert(weekly_submissions).from_select(
            ["week", "submissions"],
            select(literal(week, _s.week_start.type), func.count())
            .where(_s.week_start == week)
            .having(func.count() > 0),
        )
    )
    return later_weeks
