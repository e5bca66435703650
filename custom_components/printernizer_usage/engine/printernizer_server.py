"""The optional Printernizer server data source: reads only PII-free aggregates from its REST API.

Printernizer has no authentication and several of its answers carry credentials, file-system paths and
names (see the Printernizer API reference). This client therefore never stores, logs or returns a raw
answer: it picks the few numbers and booleans it needs and drops the rest at once.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from .timeutil import as_utc

DEFAULT_PORT = 8000
REQUEST_TIMEOUT_SECONDS = 10.0
# `settings/application` booleans -> the payload's feature_usage keys.
APPLICATION_FLAGS = {
    "job_creation_auto_create": "printernizer_auto_job_creation",
    "enable_upload": "printernizer_upload",
    "library_enabled": "printernizer_library",
    "timelapse_enabled": "printernizer_timelapse",
}
WATCH_FOLDERS_FLAG = "printernizer_watch_folders"


@dataclass(frozen=True, slots=True)
class ServerUsage:
    """What the Printernizer server adds to one week's payload."""

    file_count: int | None  # printer -> local downloads in the week
    upload_count: int | None
    feature_usage: dict[str, bool] = field(default_factory=dict)


class PrinternizerServer:
    """Reads aggregates from one Printernizer server (`http://host:8000`)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        self._session = session
        self._url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def week_usage(self, start: datetime, end: datetime) -> ServerUsage | None:
        """Downloads and uploads between `start` and `end` plus the feature flags; None when the server
        cannot be read (the week is then sent with Home Assistant's data only)."""
        events = await self._get_json("/api/v1/usage-stats/export")
        if not isinstance(events, dict) or not isinstance(events.get("events"), list):
            return None
        downloads, uploads = _count_file_events(events["events"], as_utc(start), as_utc(end))
        del events  # holds the server's settings table; never kept
        return ServerUsage(downloads, uploads, await self._feature_flags())

    async def _feature_flags(self) -> dict[str, bool]:
        flags: dict[str, bool] = {}
        application = await self._get_json("/api/v1/settings/application")
        if isinstance(application, dict):
            for source, key in APPLICATION_FLAGS.items():
                if isinstance(value := application.get(source), bool):
                    flags[key] = value
        watch = await self._get_json("/api/v1/settings/watch-folders")
        if isinstance(watch, dict) and isinstance(enabled := watch.get("enabled"), bool):
            flags[WATCH_FOLDERS_FLAG] = enabled
        return flags

    async def _get_json(self, path: str) -> Any:
        """The decoded answer, or None on any failure (never logged: it may hold credentials)."""
        try:
            async with self._session.get(f"{self._url}{path}", timeout=self._timeout) as response:
                if response.status != 200:
                    return None
                return await response.json(content_type=None)
        except aiohttp.ClientError, TimeoutError, ValueError:
            return None


def _count_file_events(events: list[Any], start: datetime, end: datetime) -> tuple[int, int]:
    """Count `file_downloaded` and `file_uploaded` events whose (naive UTC) timestamp is in the week."""
    downloads = uploads = 0
    for event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("event_type")
        if kind not in {"file_downloaded", "file_uploaded"}:
            continue
        moment = _utc(event.get("timestamp"))
        if moment is None or not start <= moment < end:
            continue
        if kind == "file_downloaded":
            downloads += 1
        else:
            uploads += 1
    return downloads, uploads


def _utc(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
