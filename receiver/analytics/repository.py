"""SQL for analytics: one count over submissions (index only), the latest-state table, and the
export of submissions page by page."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.export import EXPORTED_COLUMNS, ExportFilter
from receiver.db.tables import submissions
from receiver.db.transactions import Database


class AnalyticsRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def export_page(
        self, export: ExportFilter, after_id: int, size: int
    ) -> list[tuple[int, dict[str, Any]]]:
        """Up to `size` submissions with id > `after_id`, oldest id first (keyset pagination)."""
        statement = (
            select(submissions.c.id, *(submissions.c[name] for name in EXPORTED_COLUMNS))
            .where(submissions.c.id > after_id)
            .order_by(submissions.c.id)
            .limit(size)
        )
        if export.since is not None:
            statement = statement.where(submissions.c.period_start >= export.since)
        if export.until is not None:
            statement = statement.where(submissions.c.period_start < export.until)

        async def work(connection: AsyncConnection) -> list[tuple[int, dict[str, Any]]]:
            rows = (await connection.execute(statement)).mappings()
            return [(int(row["id"]), dict(row)) for row in rows]

        return await self.database.read(work)
