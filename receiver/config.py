"""Settings from the environment (prefix `RECEIVER_`) and an optional `.env` file; one place."""

import dataclasses
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values

Environment = Literal["development", "production"]
SmtpSecurity = Literal["starttls", "tls", "none"]
ReportPeriod = Literal["weekly", "monthly"]
ProxyHeader = Literal["x-forwarded-for", "forwarded"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./receiver.db"
PLACEHOLDER_KEYS = frozenset({"", "change-me", "changeme", "submit-key", "admin-key", "secret"})


class SettingsError(ValueError):
    """The configuration cannot be used; the message says which variable to fix."""


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """SMTP and the schedule of the weekly / monthly e-mail reports (receiver/reports/)."""

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: SmtpSecurity = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: int = 30
    sender: str = ""
    recipients: tuple[str, ...] = ()
    scheduled: tuple[ReportPeriod, ...] = ()
    weekday: int = 2  # ISO weekday of the weekly report (Tuesday: last week's reports have arrived)
    month_day: int = 2
    hour: int = 6  # UTC

    @property
    def can_send(self) -> bool:
        return bool(self.smtp_host and self.sender and self.recipients)


@dataclass(frozen=True, slots=True)
class Settings:
    environment: Environment = "production"
    database_url: str = DEFAULT_DATABASE_URL
    submit_keys: tuple[str, ...] = ()
    admin_keys: tuple[str, ...] = ()
    rate_limit_per_hour: int = 10
    client_rate_limit_per_minute: int = 60
    max_body_bytes: int = 65536
    max_head_bytes: int = 65536
    head_timeout_seconds: int = 10
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
    admin_rate_limit_per_minute: int = 60
    workers: int = 1
    # real schema-1.0 clients (docs/payload.md, "Schema 1.0 as real clients send it")
    accept_keyless_v1: bool = False
    clock_tolerance_minutes: int = 60
    max_period_age_weeks: int = 8
    # The dashboard's cookies carry the Secure flag (HTTPS only); off by default only in development.
    secure_cookies: bool = True

    # analytics (docs/receiver.md, "Analytics") and e-mail reports ("Reports")
    rollup_interval_seconds: int = 10
    answer_cache_seconds: int = 30
    export_pseudonym_key: str = ""
    reports: ReportSettings = field(default_factory=ReportSettings)

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
        max_head_bytes=_integer(source, "RECEIVER_MAX_HEAD_BYTES", 65536, 4096),
        head_timeout_seconds=_integer(source, "RECEIVER_HEAD_TIMEOUT_SECONDS", 10, 1, 300),
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
        admin_rate_limit_per_minute=_integer(source, "RECEIVER_ADMIN_RATE_LIMIT_PER_MINUTE", 60, 0),
        workers=_integer(source, "RECEIVER_WORKERS", 1, 1),
        accept_keyless_v1=_flag(source, "RECEIVER_ACCEPT_KEYLESS_V1"),
        clock_tolerance_minutes=_integer(
            source, "RECEIVER_CLOCK_TOLERANCE_MINUTES", 60, 0, maximum=24 * 60
        ),
        max_period_age_weeks=_integer(source, "RECEIVER_MAX_PERIOD_AGE_WEEKS", 8, 1),
        secure_cookies=_flag(
            source, "RECEIVER_SECURE_COOKIES", default=environment != "development"
        ),
        rollup_interval_seconds=_integer(source, "RECEIVER_ROLLUP_INTERVAL_SECONDS", 10, 0),
        answer_cache_seconds=_integer(source, "RECEIVER_ANSWER_CACHE_SECONDS", 30, 0),
        export_pseudonym_key=source.get("RECEIVER_EXPORT_PSEUDONYM_KEY", "").strip(),
        reports=_report_settings(source),
    )


def _choice[T: str](source: dict[str, str], name: str, default: T, allowed: tuple[T, ...]) -> T:
    raw = source.get(name, "").strip().lower() or default
    for value in allowed:
        if raw == value:
            return value
    raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")


def _report_periods(source: dict[str, str]) -> tuple[ReportPeriod, ...]:
    periods: list[ReportPeriod] = []
    for item in _split_list(source.get("RECEIVER_REPORTS", "").lower()):
        if item == "weekly":
            periods.append("weekly")
        elif item == "monthly":
            periods.append("monthly")
        else:
            raise SettingsError(f"RECEIVER_REPORTS lists weekly and/or monthly, got {item!r}")
    return tuple(periods)


def _report_settings(source: dict[str, str]) -> ReportSettings:
    settings = ReportSettings(
        smtp_host=source.get("RECEIVER_SMTP_HOST", "").strip(),
        smtp_port=_integer(source, "RECEIVER_SMTP_PORT", 587, 1),
        smtp_security=_choice(
            source, "RECEIVER_SMTP_SECURITY", "starttls", ("starttls", "tls", "none")
        ),
        smtp_username=source.get("RECEIVER_SMTP_USERNAME", "").strip(),
        smtp_password=source.get("RECEIVER_SMTP_PASSWORD", ""),
        smtp_timeout_seconds=_integer(source, "RECEIVER_SMTP_TIMEOUT_SECONDS", 30, 1),
        sender=source.get("RECEIVER_REPORT_FROM", "").strip(),
        recipients=_split_list(source.get("RECEIVER_REPORT_TO", "")),
        scheduled=_report_periods(source),
        weekday=_integer(source, "RECEIVER_REPORT_WEEKDAY", 2, 1),
        month_day=_integer(source, "RECEIVER_REPORT_MONTH_DAY", 2, 1),
        hour=_integer(source, "RECEIVER_REPORT_HOUR", 6, 0),
    )
    if settings.weekday > 7 or settings.month_day > 28 or settings.hour > 23:
        raise SettingsError(
            "RECEIVER_REPORT_WEEKDAY must be 1-7, RECEIVER_REPORT_MONTH_DAY 1-28 and "
            "RECEIVER_REPORT_HOUR 0-23 (UTC)"
        )
    if settings.scheduled and not settings.can_send:
        raise SettingsError(
            "RECEIVER_REPORTS needs RECEIVER_SMTP_HOST, RECEIVER_REPORT_FROM and RECEIVER_REPORT_TO"
        )
    return settings


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
