"""Alembic environment: runs on a connection handed in by the receiver, or opens its own."""

import asyncio

from alembic import context
from sqlalchemy import Connection

from receiver.db.engine import create_engine
from receiver.db.partitions import include_in_comparison
from receiver.db.tables import metadata

config = context.config


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_in_comparison,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_on)
    finally:
        await engine.dispose()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        from receiver.config import load_settings  # noqa: PLC0415

        url = load_settings().database_url
    asyncio.run(run_with_own_engine(url))


main()
