"""Reading the receiver's database directly: what is really stored."""

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine


async def stored_periods(database_url: str, installation_id: str) -> list[str]:
    """The period starts (dates) stored for one installation id, oldest first, duplicates kept."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.text(
                    "SELECT period_start FROM submissions WHERE installation_id = :id "
                    "ORDER BY period_start"
                ),
                {"id": installation_id},
            )
            return [str(row[0])[:10] for row in rows]
    finally:
        await engine.dispose()


async def job_counts(database_url: str, installation_id: str) -> dict[str, int]:
    """`job_count` per stored period start (date)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.text(
                    "SELECT period_start, job_count FROM submissions "
                    "WHERE installation_id = :id ORDER BY period_start"
                ),
                {"id": installation_id},
            )
            return {str(row[0])[:10]: int(row[1]) for row in rows}
    finally:
        await engine.dispose()


async def rows_about(database_url: str, installation_ids: list[str]) -> dict[str, int]:
    """How many rows every table of the receiver holds about these installation ids (tables with an
    `installation_id` column) or about any submission (tables with a `submission_id` column: the
    per-model breakdown, whose submissions all belong to the test's installations)."""
    engine = create_async_engine(database_url)
    counts: dict[str, int] = {}
    try:
        async with engine.connect() as connection:

            def columns_by_table(sync_connection: sa.Connection) -> dict[str, set[str]]:
                inspector = sa.inspect(sync_connection)
                return {
                    table: {column["name"] for column in inspector.get_columns(table)}
                    for table in inspector.get_table_names()
                }

            tables = await connection.run_sync(columns_by_table)
            for table, columns in sorted(tables.items()):
                if "installation_id" in columns:
                    statement = sa.text(
                        f'SELECT count(*) FROM "{table}" WHERE installation_id IN :ids'
                    ).bindparams(sa.bindparam("ids", expanding=True))
                    result = await connection.execute(statement, {"ids": installation_ids})
                elif "submission_id" in columns:
                    result = await connection.execute(sa.text(f'SELECT count(*) FROM "{table}"'))
                else:
                    continue
                counts[table] = int(result.scalar_one())
    finally:
        await engine.dispose()
    return counts
