"""One lock for everything that writes the analytics rollups: the incremental refresh, the GDPR
deletion and the purge.

Taken as the first statement of their transaction by updating the bookkeeping row: PostgreSQL holds
the row lock until commit (other writers wait, and in READ COMMITTED their next statements see what
was committed), SQLite takes its single write lock. So a refresh can never write back the rollups of
an installation that a deletion removed in between.
"""

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.db.dialect import upsert
from receiver.db.tables import rollup_state

STATE_ROW = "submissions"


async def lock_rollups(connection: AsyncConnection) -> None:
    insert_missing = upsert(rollup_state, connection.dialect.name).values(
        name=STATE_ROW, watermark=None
    )
    await connection.execute(insert_missing.on_conflict_do_nothing())
    await connection.execute(
        update(rollup_state)
        .where(rollup_state.c.name == STATE_ROW)
        .values(watermark=rollup_state.c.watermark)
    )
