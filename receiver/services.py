"""The long-lived objects the request handlers use, built once per process in the app's lifespan."""

from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.params import SkipValidation

from receiver.analytics.repository import AnalyticsRepository
from receiver.analytics.service import AnalyticsService
from receiver.config import Settings
from receiver.db.transactions import Database
from receiver.ingest.service import IngestService
from receiver.ingest.validation import PeriodRules
from receiver.installations.service import DeletionService
from receiver.security.client_address import ClientAddresses
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
    # abuse limits and the period rules (docs/receiver.md, "Abuse limits")
    addresses: ClientAddresses = field(
        default_factory=lambda: ClientAddresses((), "x-forwarded-for")
    )
    admin_limiter: ClientRateLimiter = field(default_factory=lambda: ClientRateLimiter(0))
    period_rules: PeriodRules = field(default_factory=PeriodRules)


def services_of(request: Request[Any, Any, Any]) -> Services:
    services: Services = request.app.state.services
    return services


def provide_services(request: Request[Any, Any, Any]) -> Services:
    """The `services` dependency of the route handlers (declared as `services: ServicesDependency`)."""
    return services_of(request)


# Not validated by Litestar's signature model (it is our own object, and skipping costs nothing).
ServicesDependency = NamedDependency[SkipValidation[Services]]


def client_address(request: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The client's limit key (client_address.py): the peer, or the right-most untrusted hop a
    trusted proxy recorded; IPv6 by /64. Used only as an in-memory limit key; never stored or logged."""
    cached = request.scope.get("receiver_client")
    if cached is not None:
        return str(cached)
    client = request.scope.get("client")
    services: Services = request.app.state.services
    header = services.addresses.header
    key = services.addresses.key(
        client[0] if client else None,
        request.headers.getall(header, []) if services.addresses.trusted else [],
    )
    request.scope["receiver_client"] = key  # type: ignore[typeddict-unknown-key]
    return key
