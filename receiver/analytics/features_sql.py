"""SQL for GET /stats/features: enabled features of the latest reports and per week."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.distribution_sql import active_installations
from receiver.analytics.rollup_sql import active_per_week, joins_latest, latest_reports, rows
from receiver.analytics.week_window import WeekWindow
from receiver.db.tables import installation_week_features

features_c = installation_week_features.c


async def feature_counts(
    connection: AsyncConnection, window: WeekWindow
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    latest = latest_reports(window)
    current = (
        select(features_c.feature, func.count().label("installations"))
        .select_from(
            installation_week_features.join(
                latest, joins_latest(installation_week_features, latest)
            )
        )
        .group_by(features_c.feature)
    )
    weekly = (
        select(features_c.week, features_c.feature, func.count().label("installations"))
        .where(features_c.week.between(window.since, window.until))
        .group_by(features_c.week, features_c.feature)
    )
    return (
        await active_installations(connection, window),
        await rows(connection, current),
        await rows(connection, active_per_week(window)),
        await rows(connection, weekly),
    )
