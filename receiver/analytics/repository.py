"""SQL for analytics: one count over submissions (index only) and the latest-state table."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.summary import summary
from receiver.db.tables import installations, submissions
from receiver.db.transactions import Database


class AnalyticsRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def summary(self) -> dict[str, Any]:
        async def work(connection: AsyncConnection) -> dict[str, Any]:
            count = (
                await connection.execute(select(func.count()).select_from(submissions))
            ).scalar_one()
            rows = (
                await connection.execute(
                    select(
                        installations.c.country_code,
                        installations.c.schema_version,
                        installations.c.deployment_mode,
                        installations.c.data_source,
                        installations.c.printer_count,
                        installations.c.printer_type_counts,
                    )
                )
            ).mappings()
            return summary(int(count), [dict(row) for row in rows])

        return await self.database.read(work)
