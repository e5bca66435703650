"""GET /metrics (admin keys; the app-wide admin guard applies): Prometheus text exposition."""

from litestar import Response, get

from receiver import metrics
from receiver.openapi import MetricsOperation
from receiver.services import ServicesDependency


@get(
    "/metrics",
    summary="Prometheus metrics of every worker (admin key)",
    tags=["health"],
    operation_class=MetricsOperation,
)
async def metrics_endpoint(services: ServicesDependency) -> Response[bytes]:
    metrics.set_limiter_entries("client", len(services.client_limiter))
    metrics.set_limiter_entries("admin", len(services.admin_limiter))
    metrics.set_limiter_entries("new_installations", len(services.ingest.new_installations))
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
