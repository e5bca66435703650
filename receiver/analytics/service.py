"""The analytics a maintainer asks for: each answer is SQL over the rollups (and the latest-state
table) shaped by a pure function. Controllers, the public endpoint, the exports and the e-mail
reports all call these same methods, so their numbers agree."""

import time
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.analytics.anomalies import anomalies_answer
from receiver.analytics.anomalies_sql import anomaly_inputs
from receiver.analytics.answer_cache import AnswerCache
from receiver.analytics.distribution import shares, weekly_shares
from receiver.analytics.distribution_sql import distribution
from receiver.analytics.error_stats import errors_answer
from receiver.analytics.errors_sql import error_counts
from receiver.analytics.features import features_answer
from receiver.analytics.features_sql import feature_counts
from receiver.analytics.installations import installations_answer
from receiver.analytics.installations_sql import installation_counts
from receiver.analytics.jobs import jobs_answer
from receiver.analytics.jobs_sql import job_sums
from receiver.analytics.overview import overview_answer
from receiver.analytics.printers import printers_answer
from receiver.analytics.printers_sql import printer_figures
from receiver.analytics.public import public_answer
from receiver.analytics.refresher import RollupRefresher
from receiver.analytics.reliability import WeekRange, reliability_answer
from receiver.analytics.reliability_sql import reliability_sums
from receiver.analytics.rollup_refresh import rollup_watermark
from receiver.analytics.summary import summary
from receiver.analytics.summary_totals import summary_rows
from receiver.analytics.versions import versions_answer
from receiver.analytics.week_window import WeekWindow
from receiver.db.tables import weekly_submissions
from receiver.db.transactions import Database

type Answer = dict[str, Any]
type Clock = Callable[[], datetime]


PUBLIC_SECONDS = 60.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class AnalyticsService:
    def __init__(
        self,
        database: Database,
        refresher: RollupRefresher,
        clock: Clock = utc_now,
        cache: AnswerCache | None = None,
    ) -> None:
        self.database = database
        self.refresher = refresher
        self.clock = clock
        self.cache = cache or AnswerCache(0)
        # the public answers per range (`public`): one app's, not the process's
        self.public_answers: dict[int, tuple[float, Answer]] = {}

    async def _cached(
        self, key: tuple[Hashable, ...], work: Callable[[AsyncConnection], Awaitable[Answer]]
    ) -> Answer:
        """`work`'s answer, or the one kept for `key` since the rollups last changed (answer_cache.py)."""
        if not self.cache.enabled:
            return await self.database.read(work)
        watermark = await self.database.read(rollup_watermark)
        found = self.cache.get((watermark, *key))
        if found is not None:
            return found
        answer = await self.database.read(work)
        self.cache.put((watermark, *key), answer)
        return answer

    async def _answer(
        self,
        name: str,
        window: WeekWindow,
        work: Callable[[AsyncConnection], Awaitable[Answer]],
    ) -> Answer:
        await self.refresher.ensure_fresh()
        await self.refresher.ensure_window(window.until)
        return await self._cached((name, window.weeks, window.until), work)

    # -- one query set each ------------------------------------------------------------------

    async def _installations(self, connection: AsyncConnection, window: WeekWindow) -> Answer:
        return installations_answer(
            window, *await installation_counts(connection, window, self.clock())
        )

    async def _versions(self, connection: AsyncConnection, window: WeekWindow) -> Answer:
        return versions_answer(
            window, *await distribution(connection, window, "product", "app_version")
        )

    async def _simple_distribution(
        self, connection: AsyncConnection, window: WeekWindow, column: str, name: str, plural: str
    ) -> Answer:
        active, current, active_rows, weekly = await distribution(connection, window, column)

        def renamed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{**row, name: row[column]} for row in rows]

        return {
            **window.header(),
            "active_installations": active,
            "current": shares(renamed(current), (name,), active),
            "series": weekly_shares(
                window, active_rows, renamed(weekly), names=(name,), plural=plural
            ),
        }

    async def _printers(self, connection: AsyncConnection, window: WeekWindow) -> Answer:
        return printers_answer(window, await printer_figures(connection, window))

    async def _features(self, connection: AsyncConnection, window: WeekWindow) -> Answer:
        return features_answer(window, *await feature_counts(connection, window))

    async def _jobs(self, connection: AsyncConnection, window: WeekWindow) -> Answer:
        return jobs_answer(window, *await job_sums(connection, window))

    async def _errors(self, connection: AsyncConnection, window: WeekWindow) -> Answer:
        return errors_answer(window, *await error_counts(connection, window))

    async def _anomalies(self, connection: AsyncConnection, window: WeekWindow) -> Answer:
        return anomalies_answer(window, self.clock(), await anomaly_inputs(connection, window))

    # -- the answers ---------------------------------------------------------------------------

    async def installations(self, window: WeekWindow) -> Answer:
        return await self._answer(
            "installations", window, lambda connection: self._installations(connection, window)
        )

    async def versions(self, window: WeekWindow) -> Answer:
        return await self._answer(
            "versions", window, lambda connection: self._versions(connection, window)
        )

    async def deployment_modes(self, window: WeekWindow) -> Answer:
        return await self._answer(
            "deployment_modes",
            window,
            lambda connection: self._simple_distribution(
                connection, window, "deployment_mode", "mode", "modes"
            ),
        )

    async def countries(self, window: WeekWindow) -> Answer:
        return await self._answer(
            "countries",
            window,
            lambda connection: self._simple_distribution(
                connection, window, "country_code", "country", "countries"
            ),
        )

    async def printers(self, window: WeekWindow) -> Answer:
        return await self._answer(
            "printers", window, lambda connection: self._printers(connection, window)
        )

    async def features(self, window: WeekWindow) -> Answer:
        return await self._answer(
            "features", window, lambda connection: self._features(connection, window)
        )

    async def jobs(self, window: WeekWindow) -> Answer:
        return await self._answer("jobs", window, lambda connection: self._jobs(connection, window))

    async def errors(self, window: WeekWindow) -> Answer:
        return await self._answer(
            "errors", window, lambda connection: self._errors(connection, window)
        )

    async def anomalies(self, window: WeekWindow) -> Answer:
        return await self._answer(
            "anomalies", window, lambda connection: self._anomalies(connection, window)
        )

    async def overview(self, window: WeekWindow) -> Answer:
        async def work(connection: AsyncConnection) -> Answer:
            return overview_answer(
                window,
                {
                    "installations": await self._installations(connection, window),
                    "versions": await self._versions(connection, window),
                    "printers": await self._printers(connection, window),
                    "jobs": await self._jobs(connection, window),
                    "errors": await self._errors(connection, window),
                    "anomalies": await self._anomalies(connection, window),
                },
            )

        return await self._answer("overview", window, work)

    async def summary(self) -> Answer:
        """GET /stats/summary: the kept totals (summary_totals.py) and the stored submissions."""
        await self.refresher.ensure_fresh()

        async def work(connection: AsyncConnection) -> Answer:
            stored = select(func.coalesce(func.sum(weekly_submissions.c.submissions), 0))
            submissions = int((await connection.execute(stored)).scalar_one())
            return summary(submissions, await summary_rows(connection))

        return await self._cached(("summary",), work)

    async def reliability(self, weeks: WeekRange) -> Answer:
        """GET /stats/reliability: per-model figures from the weekly model rollups."""
        await self.refresher.ensure_fresh()

        async def work(connection: AsyncConnection) -> Answer:
            return reliability_answer(weeks, *await reliability_sums(connection, weeks))

        return await self._cached(("reliability", weeks.since, weeks.until), work)

    async def public(self, window: WeekWindow) -> Answer:
        """The public aggregates (k-anonymous; public.py) from the admin answers' counts, computed
        at most once a minute per range (GET /public/stats needs no key: anyone may ask as often as
        they like without costing the database more)."""
        now = time.monotonic()
        kept = self.public_answers.get(window.weeks)
        if (
            kept is not None
            and now - kept[0] < PUBLIC_SECONDS
            and kept[1].get("until_week") == window.header()["until_week"]
        ):
            return kept[1]

        async def work(connection: AsyncConnection) -> Answer:
            versions = await self._versions(connection, window)
            return public_answer(
                window.header(),
                versions["active_installations"],
                {
                    "versions": versions,
                    "countries": await self._simple_distribution(
                        connection, window, "country_code", "country", "countries"
                    ),
                    "deployment_modes": await self._simple_distribution(
                        connection, window, "deployment_mode", "mode", "modes"
                    ),
                    "printers": await self._printers(connection, window),
                    "features": await self._features(connection, window),
                    "installations": await self._installations(connection, window),
                },
            )

        answer = await self._answer("public", window, work)
        self.public_answers[window.weeks] = (now, answer)
        return answer

    async def everything(self, window: WeekWindow) -> dict[str, Answer]:
        """Every answer for one range, read together (exports, reports, the public endpoint)."""

        async def work(connection: AsyncConnection) -> Answer:
            return {
                "installations": await self._installations(connection, window),
                "versions": await self._versions(connection, window),
                "deployment_modes": await self._simple_distribution(
                    connection, window, "deployment_mode", "mode", "modes"
                ),
                "countries": await self._simple_distribution(
                    connection, window, "country_code", "country", "countries"
                ),
                "printers": await self._printers(connection, window),
                "features": await self._features(connection, window),
                "jobs": await self._jobs(connection, window),
                "errors": await self._errors(connection, window),
                "anomalies": await self._anomalies(connection, window),
            }

        return await self._answer("everything", window, work)
