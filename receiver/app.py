"""Application factory: `create_app()` builds the Litestar app from the environment's settings."""

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import structlog
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig

from receiver import __version__, metrics, openapi
from receiver.analytics.answer_cache import AnswerCache
from receiver.analytics.background import start_refresh, stop_refresh
from receiver.analytics.controller import stats_summary
from receiver.analytics.export_aggregates_controller import ExportController
from receiver.analytics.export_controller import stats_export
from receiver.analytics.public_controller import PublicStatsController
from receiver.analytics.refresher import RollupRefresher
from receiver.analytics.reliability_controller import stats_reliability
from receiver.analytics.repository import AnalyticsRepository
from receiver.analytics.service import AnalyticsService
from receiver.analytics.stats_controller import StatsController
from receiver.config import Settings, check_production_keys, load_settings
from receiver.dashboard.controller import DASHBOARD_HANDLERS
from receiver.db.engine import create_engine
from receiver.db.partitions import ensure_coming_partitions
from receiver.db.schema_version import ensure_schema
from receiver.db.transactions import Database
from receiver.errors import EXCEPTION_HANDLERS
from receiver.health.controller import health, ready, root
from receiver.health.metrics_controller import metrics_endpoint
from receiver.ingest.controller import submit
from receiver.ingest.postgres_writer import PostgresIngestWriter
from receiver.ingest.service import IngestService
from receiver.ingest.validation import PeriodRules
from receiver.installations.controller import erase_installation
from receiver.installations.service import DeletionService
from receiver.logs import configure_logging
from receiver.reports.background import start_schedule, stop_schedule
from receiver.security.client_address import ClientAddresses
from receiver.security.client_limit import ClientRateLimiter, IngestQuota, NewInstallationLimiter
from receiver.security.guards import require_admin_key
from receiver.security.keys import KeyRing, generate_key
from receiver.services import Services, provide_services

log = structlog.get_logger("receiver")


def with_development_keys(settings: Settings) -> Settings:
    """Development mode without keys: make random ones and print them once (to stderr)."""
    if not settings.is_development or (settings.submit_keys and settings.admin_keys):
        return settings
    submit_keys = settings.submit_keys or (generate_key(),)
    admin_keys = settings.admin_keys or (generate_key(),)
    print(
        "Development keys (shown once; set RECEIVER_SUBMIT_KEYS / RECEIVER_ADMIN_KEYS to keep them):\n"
        f"  RECEIVER_SUBMIT_KEYS={','.join(submit_keys)}\n"
        f"  RECEIVER_ADMIN_KEYS={','.join(admin_keys)}",
        file=sys.stderr,
        flush=True,
    )
    return settings.with_keys(submit_keys, admin_keys)


def period_rules(settings: Settings) -> PeriodRules:
    return PeriodRules(
        clock_tolerance=timedelta(minutes=settings.clock_tolerance_minutes),
        max_age=timedelta(weeks=settings.max_period_age_weeks),
    )


def create_app(settings: Settings | None = None) -> Litestar:
    settings = with_development_keys(settings or load_settings())
    check_production_keys(settings)
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url, settings.database_pool_size)
        writer: PostgresIngestWriter | None = None
        schedule: asyncio.Task[None] | None = None
        refresh: asyncio.Task[None] | None = None
        try:
            await ensure_schema(engine, may_upgrade=settings.is_development)
            database = Database(engine)
            await ensure_coming_partitions(database)
            if database.dialect_name == "postgresql":
                writer = PostgresIngestWriter(settings.database_url, settings.database_pool_size)
                await writer.open()
            app.state.services = Services(
                settings=settings,
                database=database,
                keys=KeyRing(settings.submit_keys, settings.admin_keys),
                client_limiter=ClientRateLimiter(settings.client_rate_limit_per_minute),
                ingest=IngestService(
                    database,
                    settings.rate_limit_per_hour,
                    writer,
                    settings.bench_dry_run,
                    new_installations=NewInstallationLimiter(
                        settings.new_installations_per_address_per_day
                    ),
                    quota=IngestQuota(settings.ingest_quota_per_hour, settings.workers),
                ),
                deletion=DeletionService(database),
                analytics=AnalyticsRepository(database),
                stats=AnalyticsService(
                    database,
                    RollupRefresher(database, settings.rollup_interval_seconds),
                    cache=AnswerCache(settings.answer_cache_seconds),
                ),
                addresses=ClientAddresses(settings.trusted_proxies, settings.proxy_header),
                admin_limiter=ClientRateLimiter(
                    settings.admin_rate_limit_per_minute,
                    code="admin_rate_limited",
                    what="admin requests",
                ),
                period_rules=period_rules(settings),
            )
            schedule = start_schedule(app.state.services)
            refresh = start_refresh(app.state.services)
            log.info("receiver_started", environment=settings.environment, version=__version__)
            yield
        finally:
            await stop_schedule(schedule)
            if refresh is not None:
                await stop_refresh(app.state.services.stats.refresher, refresh)
            if writer is not None:
                await writer.close()
            await engine.dispose()
            metrics.process_exited()

    cors = (
        CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=[
                "content-type",
                "content-encoding",
                "x-api-key",
                "x-installation-secret",
            ],
        )
        if settings.cors_origins
        else None
    )
    return Litestar(
        route_handlers=[
            root,
            health,
            ready,
            submit,
            erase_installation,
            # every admin route (/stats/…, /metrics): the admin limit per address, then an admin key
            Router(
                "/",
                route_handlers=[
                    metrics_endpoint,
                    stats_summary,
                    stats_export,
                    stats_reliability,
                    StatsController,
                    ExportController,
                ],
                guards=[require_admin_key],
            ),
            PublicStatsController,
            *DASHBOARD_HANDLERS,
        ],
        lifespan=[lifespan],
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        middleware=[metrics.timing_middleware],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        cors_config=cors,
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="Printernizer Usage receiver",
            version=__version__,
            path="/schema",
            components=openapi.components(),
        ),
        debug=False,
    )
