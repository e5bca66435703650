"""The long-lived objects the request handlers use, built once per process in the app's lifespan."""

from dataclasses import dataclass
from typing import Any

from litestar import Request

from receiver.analytics.repository import AnalyticsRepository
from receiver.analytics.service import AnalyticsService
from receiver.config import Settings
from receiver.db.transactions import Database
from receiver.ingest.service import IngestService
from receiver.installations.service import DeletionService
from receiver.security.client_limit import ClientRateLimiter
from receiver.security.keys import KeyRing


@dataclass(slots=True)
class Services:
    settings: Settings
    database: Database
    keys: KeyRing
    client_limiter: ClientRateLimiter
    ingest: IngestService
    deletion: DeletionService
    analytics: AnalyticsRepository
    stats: AnalyticsService


def services_of(request: Request[Any, Any, Any]) -> Services:
    services: Services = request.app.state.services
    return services


def client_address(request: Request[Any, Any, Any]) -> str | None:
    """Used only as an in-memory rate-limit key; never stored, never logged."""
    client = request.scope.get("client")
    return client[0] if client else None
