"""SQL for erasing one installation."""

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.rollup_erase import erase_installation_rollups
from receiver.db.tables import (
    installations,
    rate_limits,
    submission_model_errors,
    submission_models,
    submissions,
)


async def secret_hash_of(connection: AsyncConnection, installation_id: str) -> str | None:
    statement = select(installations.c.secret_hash).where(
        installations.c.installation_id == installation_id
    )
    if connection.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return (await connection.execute(statement)).scalar_one_or_none()


async def erase(connection: AsyncConnection, installation_id: str) -> int:
    """Delete submissions (with their per-model breakdown and analytics rollups), latest state and
    rate-limit record; returns the submissions deleted."""
    await erase_installation_rollups(connection, installation_id)
    own_submissions = select(submissions.c.id).where(
        submissions.c.installation_id == installation_id
    )
    for breakdown in (submission_models, submission_model_errors):
        await connection.execute(
            delete(breakdown).where(breakdown.c.submission_id.in_(own_submissions))
        )
    result = await connection.execute(
        delete(submissions).where(submissions.c.installation_id == installation_id)
    )
    await connection.execute(
        delete(installations).where(installations.c.installation_id == installation_id)
    )
    await connection.execute(
        delete(rate_limits).where(rate_limits.c.installation_id == installation_id)
    )
    return int(result.rowcount)
