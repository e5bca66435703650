"""Settings from the environment (prefix `RECEIVER_`) and an optional `.env` file; one place."""

import dataclasses
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values

Environment = Literal["development", "production"]
ProxyHeader = Literal["x-forwarded-for", "forwarded"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./receiver.db"
PLACEHOLDER_KEYS = frozenset({"", "change-me", "changeme", "submit-key", "admin-key", "secret"})


class SettingsError(ValueError):
    """The configuration cannot be used; the message says which variable to fix."""


@dataclass(frozen=True, slots=True)
class Settings:
    environment: Environment = "production"
    database_url: str = DEFAULT_DATABASE_URL
    submit_keys: tuple[str, ...] = ()
    admin_keys: tuple[str, ...] = ()
    rate_limit_per_hour: int = 10
    client_rate_limit_per_minute: int = 60
    max_body_bytes: int = 65536
    retention_days: int = 730
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8080
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    database_pool_size: int = 10
    bench_dry_run: bool = False
    # abuse limits (docs/receiver.md, "Abuse limits")
    trusted_proxies: tuple[Network, ...] = ()
    proxy_header: ProxyHeader = "x-forwarded-for"
    new_installations_per_address_per_day: int = 20
    ingest_quota_per_hour: int = 50_000
    admin_rate_limit_per_minute: int = 30
    workers: int = 1
    # real schema-1.0 clients (docs/payload.md, "Schema 1.0 as real clients send it")
    accept_keyless_v1: bool = False
    clock_tolerance_minutes: int = 60
    max_period_age_weeks: int = 8
    # The dashboard's cookies carry the Secure flag (HTTPS only); off by default only in development.
    secure_cookies: bool = True

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    def with_keys(self, submit_keys: tuple[str, ...], admin_keys: tuple[str, ...]) -> Settings:
        return dataclasses.replace(self, submit_keys=submit_keys, admin_keys=admin_keys)


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _integer(
    source: dict[str, str], name: str, default: int, minimum: int, maximum: int | None = None
) -> int:
    raw = source.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{name} must be at most {maximum}, got {value}")
    return value


def _networks(source: dict[str, str], name: str) -> tuple[Network, ...]:
    networks: list[Network] = []
    for item in _split_list(source.get(name, "")):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(
                f"{name} must be a comma-separated list of addresses or CIDR ranges "
                f"(e.g. 127.0.0.1/32,10.0.0.0/8), got {item!r}"
            ) from None
    return tuple(networks)


def _proxy_header(source: dict[str, str]) -> ProxyHeader:
    raw = source.get("RECEIVER_PROXY_HEADER", "").strip().lower() or "x-forwarded-for"
    if raw == "x-forwarded-for":
        return "x-forwarded-for"
    if raw == "forwarded":
        return "forwarded"
    raise SettingsError(f"RECEIVER_PROXY_HEADER must be x-forwarded-for or forwarded, got {raw!r}")


def load_settings(environ: dict[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Read settings; real environment variables win over the `.env` file."""
    file_values = {
        key: value
        for key, value in dotenv_values(env_file or Path.cwd() / ".env").items()
        if value is not None
    }
    source = {**file_values, **(dict(os.environ) if environ is None else environ)}
    environment = source.get("RECEIVER_ENVIRONMENT", "production").strip().lower() or "production"
    if environment not in ("development", "production"):
        raise SettingsError(
            f"RECEIVER_ENVIRONMENT must be 'development' or 'production', got {environment!r}"
        )
    return Settings(
        environment="development" if environment == "development" else "production",
        database_url=source.get("RECEIVER_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
        submit_keys=_split_list(source.get("RECEIVER_SUBMIT_KEYS", "")),
        admin_keys=_split_list(source.get("RECEIVER_ADMIN_KEYS", "")),
        rate_limit_per_hour=_integer(source, "RECEIVER_RATE_LIMIT_PER_HOUR", 10, 1),
        client_rate_limit_per_minute=_integer(
            source, "RECEIVER_CLIENT_RATE_LIMIT_PER_MINUTE", 60, 0
        ),
        max_body_bytes=_integer(source, "RECEIVER_MAX_BODY_BYTES", 65536, 1024),
        retention_days=_integer(source, "RECEIVER_RETENTION_DAYS", 730, 1),
        log_level=source.get("RECEIVER_LOG_LEVEL", "INFO").strip().upper() or "INFO",
        host=source.get("RECEIVER_HOST", "127.0.0.1").strip() or "127.0.0.1",
        port=_integer(source, "RECEIVER_PORT", 8080, 1),
        cors_origins=_split_list(source.get("RECEIVER_CORS_ORIGINS", "")),
        database_pool_size=_integer(source, "RECEIVER_DATABASE_POOL_SIZE", 10, 1),
        bench_dry_run=_flag(source, "RECEIVER_BENCH_DRY_RUN"),
        trusted_proxies=_networks(source, "RECEIVER_TRUSTED_PROXIES"),
        proxy_header=_proxy_header(source),
        new_installations_per_address_per_day=_integer(
            source, "RECEIVER_NEW_INSTALLATIONS_PER_ADDRESS_PER_DAY", 20, 0
        ),
        ingest_quota_per_hour=_integer(source, "RECEIVER_INGEST_QUOTA_PER_HOUR", 50_000, 0),
        admin_rate_limit_per_minute=_integer(source, "RECEIVER_ADMIN_RATE_LIMIT_PER_MINUTE", 30, 0),
        workers=_integer(source, "RECEIVER_WORKERS", 1, 1),
        accept_keyless_v1=_flag(source, "RECEIVER_ACCEPT_KEYLESS_V1"),
        clock_tolerance_minutes=_integer(
            source, "RECEIVER_CLOCK_TOLERANCE_MINUTES", 60, 0, maximum=24 * 60
        ),
        max_period_age_weeks=_integer(source, "RECEIVER_MAX_PERIOD_AGE_WEEKS", 8, 1),
        secure_cookies=_flag(
            source, "RECEIVER_SECURE_COOKIES", default=environment != "development"
        ),
    )


def _flag(source: dict[str, str], name: str, *, default: bool = False) -> bool:
    raw = source.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise SettingsError(f"{name} must be 0 or 1, got {raw!r}")


def unusable_keys(keys: tuple[str, ...]) -> bool:
    """True when a key list is empty or holds a placeholder or too-short key."""
    return not keys or any(key.lower() in PLACEHOLDER_KEYS or len(key) < 16 for key in keys)


def check_production_keys(settings: Settings) -> None:
    """Outside development mode, refuse empty, default or weak keys and the benchmark switch."""
    if settings.is_development:
        return
    if settings.bench_dry_run:
        raise SettingsError(
            "RECEIVER_BENCH_DRY_RUN skips storing submissions and is for benchmarks only; "
            "it needs RECEIVER_ENVIRONMENT=development"
        )
    for name, keys in (
        ("RECEIVER_SUBMIT_KEYS", settings.submit_keys),
        ("RECEIVER_ADMIN_KEYS", settings.admin_keys),
    ):
        if unusable_keys(keys):
            raise SettingsError(
                f"{name} is empty or holds a default/short key (< 16 characters); generate keys "
                "with `printernizer-receiver keys` or set RECEIVER_ENVIRONMENT=development"
            )
    if set(settings.submit_keys) & set(settings.admin_keys):
        raise SettingsError("RECEIVER_SUBMIT_KEYS and RECEIVER_ADMIN_KEYS must not share a key")
