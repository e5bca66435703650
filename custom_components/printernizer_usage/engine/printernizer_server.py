"""The optional Printernizer server data source: reads only PII-free aggregates from its REST API.

Printernizer has no authentication and several of its answers carry credentials, file-system paths and
names (see the Printernizer API reference). This client therefore never stores, logs or returns a raw
answer: it picks the few numbers and booleans it needs and drops the rest at once.

`/api/v1/usage-stats/export` returns the server's whole event history, without a limit. At most
`EXPORT_MAX_BYTES` of it are read (a longer export gives unknown file counts and a note for the
diagnostics); it is decoded and counted in an executor thread, never on the event loop; everything the
server is asked for one week shares one time budget.
"""

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from .httputil import read_capped
from .timeutil import as_utc

# Everything read from the server for one week's payload, together.
BUDGET_SECONDS = 10.0
EXPORT_MAX_BYTES = 8 * 1024 * 1024
ANSWER_MAX_BYTES = 65_536  # the settings answers are small
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
        budget: float = BUDGET_SECONDS,
        export_max_bytes: int = EXPORT_MAX_BYTES,
    ) -> None:
        self._session = session
        self._url = base_url.rstrip("/")
        self._budget = budget
        self._export_max_bytes = export_max_bytes
        # Why the last read gave unknown figures (for the diagnostics); None when it went well.
        self.note: str | None = None

    async def week_usage(self, start: datetime, end: datetime) -> ServerUsage | None:
        """Downloads and uploads between `start` and `end` plus the feature flags; None when the server
        cannot be read (the week is then sent with Home Assistant's data only), unknown counts when
        its export is too large. Takes at most the time budget."""
        try:
            async with asyncio.timeout(self._budget):
                return await self._week_usage(as_utc(start), as_utc(end))
        except TimeoutError:
            self.note = f"no answer within {self._budget:g} s: figures unknown"
            return None

    async def _week_usage(self, start: datetime, end: datetime) -> ServerUsage | None:
        raw = await self._get("/api/v1/usage-stats/export", self._export_max_bytes)
        if raw is None:
            self.note = "not readable: figures unknown"
            return None
        if len(raw) > self._export_max_bytes:
            del raw
            self.note = (
                f"usage export larger than {self._export_max_bytes:,} bytes: "
                "file and upload counts unknown"
            )
            return ServerUsage(None, None, await self._feature_flags())
        counts = await asyncio.get_running_loop().run_in_executor(
            None, count_export, raw, start, end
        )
        del raw  # holds the server's settings table; never kept
        if counts is None:
            self.note = "usage export not understood: figures unknown"
            return None
        self.note = None
        return ServerUsage(*counts, await self._feature_flags())

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
        """A small answer decoded, or None on any failure or when it is not small."""
        raw = await self._get(path, ANSWER_MAX_BYTES)
        if raw is None or len(raw) > ANSWER_MAX_BYTES:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    async def _get(self, path: str, limit: int) -> bytes | None:
        """At most `limit` + 1 bytes of the answer (more than `limit`: too large), or None on any
        failure (never logged: it may hold credentials). Redirects are not followed."""
        try:
            async with self._session.get(f"{self._url}{path}", allow_redirects=False) as response:
                if response.status != 200:
                    return None
                return await read_capped(response, limit)
        except aiohttp.ClientError:
            return None


def count_export(raw: bytes, start: datetime, end: datetime) -> tuple[int, int] | None:
    """Decode the export and count its file events in [start, end) (runs in an executor thread);
    None when it is not the expected shape."""
    try:
        export = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(export, dict) or not isinstance(export.get("events"), list):
        return None
    return _count_file_events(export["events"], start, end)


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
