"""CPU per request of each issue-9 protection, measured in process (microseconds per call)."""

import ipaddress
import time
from collections.abc import Callable


def _microseconds(operation: Callable[[int], object], rounds: int = 20_000) -> float:
    for index in range(1000):
        operation(index)
    started = time.process_time()
    for index in range(rounds):
        operation(index)
    return (time.process_time() - started) / rounds * 1e6


def _record_metrics(_: int) -> None:
    from receiver import metrics  # noqa: PLC0415 - as below: imported only when measured

    metrics.count_submission("stored")
    metrics.REQUEST_SECONDS.labels("/submit", "POST").observe(0.004)


def protection_microseconds() -> dict[str, float]:
    from bench._payloads import forwarded_for  # noqa: PLC0415
    from receiver.security.client_address import ClientAddresses  # noqa: PLC0415
    from receiver.security.client_limit import (  # noqa: PLC0415
        ClientRateLimiter,
        IngestQuota,
        NewInstallationLimiter,
    )

    addresses = ClientAddresses((ipaddress.ip_network("127.0.0.1/32"),), "x-forwarded-for")
    keys = [addresses.key("127.0.0.1", [forwarded_for(index)]) for index in range(8192)]
    limiter = ClientRateLimiter(10**9)
    new_installations = NewInstallationLimiter(10**9)
    quota = IngestQuota(10**12)
    now = time.time()
    return {
        "client address (trusted proxy, X-Forwarded-For)": _microseconds(
            lambda i: addresses.key("127.0.0.1", [forwarded_for(i % 8192)])
        ),
        "per-address limit": _microseconds(lambda i: limiter.hit(keys[i % 8192], now)),
        "new installations per address": _microseconds(
            lambda i: new_installations.reserve(keys[i % 8192], now)
        ),
        "hourly quota": _microseconds(lambda i: quota.take(now)),
        "metrics (outcome counter + latency histogram)": _microseconds(_record_metrics),
    }
