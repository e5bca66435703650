"""The totals of GET /stats/summary, kept by the rollup refresh instead of read from every installation.

`summary_installations` is a copy of the summary's columns of each installation's latest state (the
`installations` table) as of the last refresh — with `last_period_end`, indexed, for the active
installations of GET /stats/installations; `summary_totals` holds their sums per (dimension, key):
dimension `all` (key ""), `country`, `schema_version`, `deployment_mode`, `data_source` (installations)
and `printer_type` (printers of that type, and how many installations list it). A refresh moves the
installations whose latest state may have changed — those with a submission received since the last
refresh, and those missing from one table or the other (new after an upgrade, or removed by the
purge) — by subtracting their copied contribution and adding the current one. A GDPR erasure
subtracts and deletes the copy in its own transaction. Everything runs under the rollup lock.
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, delete, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.db.dialect import upsert
from receiver.db.tables import installations, summary_installations, summary_totals

CHUNK = 2000  # installations moved per statement
COUNTED_COLUMNS = {
    "country": "country_code",
    "schema_version": "schema_version",
    "deployment_mode": "deployment_mode",
    "data_source": "data_source",
}
COPIED_COLUMNS = (
    "installation_id",
    "country_code",
    "schema_version",
    "deployment_mode",
    "data_source",
    "printer_count",
    "printer_type_counts",
    "last_period_end",
)

type Key = tuple[str, str]


def contributions(rows: Iterable[Mapping[str, Any]]) -> tuple[Counter[Key], Counter[Key]]:
    """(installations, printers) per (dimension, key) of these latest states."""
    counted: Counter[Key] = Counter()
    printers: Counter[Key] = Counter()
    for row in rows:
        counted["all", ""] += 1
        printers["all", ""] += int(row["printer_count"])
        for dimension, column in COUNTED_COLUMNS.items():
            if row[column] is not None:
                counted[dimension, str(row[column])] += 1
        for printer_type, count in (row["printer_type_counts"] or {}).items():
            counted["printer_type", str(printer_type)] += 1
            printers["printer_type", str(printer_type)] += int(count)
    return counted, printers


async def _rows(connection: AsyncConnection, table: Any, ids: Sequence[str]) -> list[Any]:
    statement = select(*(table.c[name] for name in COPIED_COLUMNS)).where(
        table.c.installation_id.in_(ids)
    )
    return [dict(row) for row in (await connection.execute(statement)).mappings()]


async def _add(
    connection: AsyncConnection, counted: Counter[Key], printers: Counter[Key], sign: int
) -> None:
    keys = set(counted) | set(printers)
    if not keys:
        return
    statement = upsert(summary_totals, connection.dialect.name)
    current = summary_totals.c
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[current.dimension, current.key],
            set_={
                "installations": current.installations + statement.excluded.installations,
                "printers": current.printers + statement.excluded.printers,
            },
        ),
        [
            {
                "dimension": dimension,
                "key": key,
                "installations": sign * counted[dimension, key],
                "printers": sign * printers[dimension, key],
            }
            for dimension, key in sorted(keys)
        ],
    )


async def move_installations(connection: AsyncConnection, ids: Sequence[str]) -> None:
    """Replace the copied contribution of these installations by their current latest state."""
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        old = await _rows(connection, summary_installations, chunk)
        new = await _rows(connection, installations, chunk)
        await _add(connection, *contributions(old), sign=-1)
        await _add(connection, *contributions(new), sign=1)
        await connection.execute(
            delete(summary_installations).where(summary_installations.c.installation_id.in_(chunk))
        )
        if new:
            await connection.execute(insert(summary_installations), new)
    await connection.execute(
        delete(summary_totals).where(
            and_(summary_totals.c.installations == 0, summary_totals.c.printers == 0)
        )
    )


async def unmatched_installations(connection: AsyncConnection) -> list[str]:
    """Installations in one of the two tables only (new since an upgrade; removed by the purge)."""
    copied, current = summary_installations.c, installations.c
    missing = select(current.installation_id).where(
        ~exists().where(copied.installation_id == current.installation_id)
    )
    removed = select(copied.installation_id).where(
        ~exists().where(current.installation_id == copied.installation_id)
    )
    found = (await connection.execute(missing.union_all(removed))).scalars()
    return sorted(set(found))


async def forget_installation(connection: AsyncConnection, installation_id: str) -> None:
    """GDPR erasure: subtract the installation's copied contribution and delete the copy."""
    old = await _rows(connection, summary_installations, [installation_id])
    await _add(connection, *contributions(old), sign=-1)
    await connection.execute(
        delete(summary_installations).where(
            summary_installations.c.installation_id == installation_id
        )
    )
    await connection.execute(
        delete(summary_totals).where(
            and_(summary_totals.c.installations == 0, summary_totals.c.printers == 0)
        )
    )


async def summary_rows(connection: AsyncConnection) -> list[dict[str, Any]]:
    statement = select(summary_totals).order_by(summary_totals.c.dimension, summary_totals.c.key)
    return [dict(row) for row in (await connection.execute(statement)).mappings()]
