"""Analytics answers kept until the rollups change (answer_cache.py): a repeated question is answered
from the cache, a refresh (new watermark) or the time limit reads it again."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.answer_cache import SIZE, AnswerCache
from receiver.analytics.refresher import RollupRefresher
from receiver.analytics.rollup_refresh import refresh_rollups
from receiver.analytics.service import AnalyticsService
from receiver.db.transactions import Database


def test_answers_expire_and_the_oldest_go_first() -> None:
    now = [0.0]
    cache = AnswerCache(30, clock=lambda: now[0])
    cache.put("a", {"n": 1})
    assert cache.get("a") == {"n": 1}
    now[0] = 30.0
    assert cache.get("a") is None
    for index in range(SIZE + 1):
        cache.put(index, {"n": index})
    assert cache.get(0) is None
    assert cache.get(SIZE) == {"n": SIZE}
    off = AnswerCache(0)
    off.put("a", {"n": 1})
    assert off.get("a") is None


async def test_an_answer_is_read_again_after_a_refresh(database: Database) -> None:
    service = AnalyticsService(
        database, RollupRefresher(database, min_interval_seconds=3600), cache=AnswerCache(30)
    )
    now = datetime.now(UTC)
    await refresh_rollups(database, now)
    reads: list[int] = []

    async def counted(connection: AsyncConnection) -> dict[str, Any]:
        reads.append(1)
        return {"reads": len(reads)}

    key = ("question", date(2026, 11, 23))
    assert await service._cached(key, counted) == {"reads": 1}
    assert await service._cached(key, counted) == {"reads": 1}  # kept
    await refresh_rollups(database, now + timedelta(seconds=1))  # a new watermark
    assert await service._cached(key, counted) == {"reads": 2}
    assert await service._cached(("another",), counted) == {"reads": 3}
