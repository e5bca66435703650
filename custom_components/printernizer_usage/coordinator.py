"""Refreshes the week's figures for the sensors and drives the weekly submission and remote deletions."""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import ClientSession
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_utc_time, async_track_time_interval
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import (
    CONF_PRINTERNIZER_URL,
    CONF_RECEIVER_URL,
    CONF_SUBMIT_KEY,
    DELIVERY_CHECK_INTERVAL,
    DOMAIN,
    HEARTBEAT_INTERVAL,
    ISSUE_RECEIVER_REJECTED_KEY,
    REFRESH_INTERVAL,
)
from .context import HostFacts
from .credentials_pause import (
    CredentialsPause,
    credentials_fingerprint,
    load_credentials_pause,
    save_credentials_pause,
)
from .engine.aggregate import WeekSummary
from .engine.engine import UsageEngine
from .engine.payload import InstallationContext
from .engine.printernizer_server import PrinternizerServer
from .engine.uploader import DeletionResult, DeliveryReport, Uploader
from .installation import Installation
from .pending_deletions import (
    PendingDeletion,
    add_pending_deletion,
    load_pending_deletions,
    save_pending_deletions,
)
from .schedule import enqueue_horizon, next_weekly_submission

if TYPE_CHECKING:
    from .data import PrinternizerUsageConfigEntry

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UsageData:
    """What the sensors show."""

    week: WeekSummary
    sharing_enabled: bool
    pending_uploads: int
    last_submission: datetime | None
    next_submission: datetime | None


class UsageCoordinator(DataUpdateCoordinator[UsageData]):
    """Owns the refresh of the week's figures, the heartbeat, the weekly schedule and the outbox."""

    config_entry: PrinternizerUsageConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PrinternizerUsageConfigEntry,
        *,
        engine: UsageEngine,
        facts: HostFacts,
        installation: Installation | None,
        session: ClientSession,
    ) -> None:
        """Prepare; `async_start` starts the timers."""
        super().__init__(
            hass, _LOGGER, config_entry=entry, name=DOMAIN, update_interval=REFRESH_INTERVAL
        )
        self.engine = engine
        self.facts = facts
        self.installation = installation
        self._session = session
        self._receiver_url: str = entry.data[CONF_RECEIVER_URL]
        self._submit_key: str = entry.data[CONF_SUBMIT_KEY]
        self.uploader = (
            self._uploader_for(installation.installation_id, installation.secret)
            if installation
            else None
        )
        self._deletion_uploaders: dict[str, Uploader] = {}
        server_url = entry.options.get(CONF_PRINTERNIZER_URL)
        self.printernizer_server = (
            PrinternizerServer(session, str(server_url)) if server_url else None
        )
        self._lock = asyncio.Lock()
        self._unsub_wake: CALLBACK_TYPE | None = None
        self._unsub_heartbeat: CALLBACK_TYPE | None = None
        self._wake_task: asyncio.Task[None] | None = None
        self._stopped = False
        self._credentials_paused = False

    @property
    def integration_version(self) -> str:
        """The version of this integration (for the device's software version)."""
        return self.facts.integration_version

    @property
    def sharing_enabled(self) -> bool:
        """Sharing is on exactly when there is an installation identity."""
        return self.installation is not None

    def _uploader_for(
        self,
        installation_id: str,
        secret: str,
        receiver_url: str | None = None,
        submit_key: str | None = None,
    ) -> Uploader:
        return Uploader(
            self._session,
            self.engine,
            receiver_url or self._receiver_url,
            submit_key or self._submit_key,
            installation_id,
            secret,
        )

    def payload_context(self) -> InstallationContext:
        """The payload context of the current identity (a placeholder id while sharing is off)."""
        return self.facts.context(
            self.installation, printernizer_server=self.printernizer_server is not None
        )

    async def async_preview_payload(self) -> dict[str, Any]:
        """Exactly what would be sent next."""
        return await self.engine.preview_next_payload(
            self.payload_context(), self.printernizer_server
        )

    @callback
    def async_start(self) -> None:
        """Start the heartbeat and the submission schedule (once Home Assistant has started)."""
        if self._stopped:
            return
        self._unsub_heartbeat = async_track_time_interval(
            self.hass, self._async_heartbeat, HEARTBEAT_INTERVAL, name=f"{DOMAIN} heartbeat"
        )
        self._schedule_wake(dt_util.utcnow())

    async def async_stop(self) -> None:
        """Stop the timers, cancel a run in progress and wait for running actions to finish."""
        self._stopped = True
        if self._unsub_heartbeat is not None:
            self._unsub_heartbeat()
            self._unsub_heartbeat = None
        if self._unsub_wake is not None:
            self._unsub_wake()
            self._unsub_wake = None
        if self._wake_task is not None and not self._wake_task.done():
            self._wake_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._wake_task
        async with self._lock:
            await self.async_shutdown()

    async def _async_heartbeat(self, _now: datetime) -> None:
        await self.engine.heartbeat()

    async def _async_update_data(self) -> UsageData:
        now = dt_util.utcnow()
        week = await self.engine.week_summary(now)
        return UsageData(
            week=week,
            sharing_enabled=self.sharing_enabled,
            pending_uploads=await self.engine.pending_count() if self.sharing_enabled else 0,
            last_submission=await self._last_submission(),
            next_submission=await self._next_submission(now),
        )

    async def _last_submission(self) -> datetime | None:
        for entry in await self.engine.audit_log(limit=100):
            if entry.action == "submit" and entry.status_code == 200:
                return entry.at
        return None

    async def _next_submission(self, now: datetime) -> datetime | None:
        if self.installation is None:
            return None
        weekly = next_weekly_submission(self.installation.installation_id, now)
        retry = await self.engine.next_attempt_at(self.installation.installation_id)
        return min(weekly, max(retry, now)) if retry is not None else weekly

    # --- the schedule -------------------------------------------------------------------------

    @callback
    def _schedule_wake(self, at: datetime) -> None:
        if self._unsub_wake is not None:
            self._unsub_wake()
        self._unsub_wake = async_track_point_in_utc_time(self.hass, self._async_wake, at)

    async def _async_wake(self, now: datetime) -> None:
        self._unsub_wake = None
        self._wake_task = asyncio.current_task()
        try:
            report = await self.async_run_schedule(now)
            next_wake = await self._next_wake(dt_util.utcnow(), report)
        finally:
            self._wake_task = None
        if not self._stopped:
            self._schedule_wake(next_wake)
            await self.async_request_refresh()

    async def _next_wake(self, now: datetime, report: DeliveryReport | None) -> datetime:
        candidates = [now + DELIVERY_CHECK_INTERVAL]
        if self.installation is not None:
            candidates.append(next_weekly_submission(self.installation.installation_id, now))
        if report is not None and report.retry_at is not None:
            candidates.append(max(report.retry_at, now))
        return min(candidates)

    async def async_run_schedule(self, now: datetime) -> DeliveryReport | None:
        """Enqueue the weeks that are due, deliver the outbox and retry due remote deletions."""
        async with self._lock:
            report = None
            if self.installation is not None and self.uploader is not None:
                horizon = enqueue_horizon(self.installation.installation_id, now)
                await self.engine.enqueue_completed_weeks(
                    self.payload_context(), horizon, self.printernizer_server
                )
                report = await self.uploader.deliver_due(now)
                await self._note_delivery(report)
            await self._retry_pending_deletions(now)
            return report

    async def async_submit_now(self) -> DeliveryReport:
        """The user asks to send now: enqueue every completed week at once (ignoring the spread) and
        deliver everything pending, ignoring any backoff or credentials pause."""
        assert self.installation is not None
        assert self.uploader is not None
        async with self._lock:
            now = dt_util.utcnow()
            await self.engine.enqueue_completed_weeks(
                self.payload_context(), now, self.printernizer_server
            )
            await self.engine.make_pending_due(self.installation.installation_id, now)
            report = await self.uploader.deliver_due(now)
            await self._note_delivery(report)
        await self.async_request_refresh()
        return report

    # --- the credentials pause and its repair issue ----------------------------------------------

    def _fingerprint(self, installation: Installation) -> str:
        return credentials_fingerprint(
            installation.installation_id, self._receiver_url, self._submit_key
        )

    async def async_restore_credentials_pause(self) -> None:
        """At set-up: keep a pause whose cause is unchanged (and show its repair issue again); end it
        when the user changed the key, the receiver or the identity, so delivery resumes at once."""
        pause = await load_credentials_pause(self.engine)
        if pause is None:
            return
        if self.installation is not None and pause.fingerprint == self._fingerprint(
            self.installation
        ):
            self._credentials_paused = True
            self._raise_repair_issue(pause.status)
            return
        await save_credentials_pause(self.engine, None)
        ir.async_delete_issue(self.hass, DOMAIN, ISSUE_RECEIVER_REJECTED_KEY)
        if self.installation is not None:
            await self.engine.make_pending_due(self.installation.installation_id, dt_util.utcnow())

    async def _note_delivery(self, report: DeliveryReport) -> None:
        if report.auth_failed_status is not None and self.installation is not None:
            await save_credentials_pause(
                self.engine,
                CredentialsPause(report.auth_failed_status, self._fingerprint(self.installation)),
            )
            self._credentials_paused = True
            self._raise_repair_issue(report.auth_failed_status)
        elif report.sent and self._credentials_paused:
            await save_credentials_pause(self.engine, None)
            self._credentials_paused = False
            ir.async_delete_issue(self.hass, DOMAIN, ISSUE_RECEIVER_REJECTED_KEY)

    @callback
    def _raise_repair_issue(self, status: int) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            ISSUE_RECEIVER_REJECTED_KEY,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_RECEIVER_REJECTED_KEY,
            translation_placeholders={"status": str(status), "receiver_url": self._receiver_url},
        )

    # --- remote deletion ----------------------------------------------------------------------

    async def async_request_remote_deletion(self) -> DeletionResult | None:
        """Ask the receiver to delete everything this installation sent (current and retired ids),
        now, whatever the retry schedule says. Returns the current identity's result, `None` when
        nothing was ever shared."""
        async with self._lock:
            if self.installation is not None:
                await add_pending_deletion(
                    self.engine,
                    PendingDeletion(
                        self.installation.installation_id,
                        self.installation.secret,
                        self._receiver_url,
                        self._submit_key,
                    ),
                )
            results = await self._retry_pending_deletions(dt_util.utcnow(), due_or_not=True)
            if self.installation is None:
                return None
            return results.get(self.installation.installation_id)

    async def _retry_pending_deletions(
        self, now: datetime, *, due_or_not: bool = False
    ) -> dict[str, DeletionResult]:
        pending = await load_pending_deletions(self.engine)
        if not pending:
            return {}
        results: dict[str, DeletionResult] = {}
        still_pending: list[PendingDeletion] = []
        for deletion in pending:
            if not due_or_not and not deletion.is_due(now):
                still_pending.append(deletion)
                continue
            uploader = self._deletion_uploaders.get(deletion.installation_id)
            if uploader is None:
                uploader = self._uploader_for(
                    deletion.installation_id,
                    deletion.secret,
                    deletion.receiver_url,
                    deletion.submit_key,
                )
                self._deletion_uploaders[deletion.installation_id] = uploader
            result = await uploader.request_remote_deletion(now)
            results[deletion.installation_id] = result
            if not result.confirmed:
                still_pending.append(deletion.after_failure(now))
        await save_pending_deletions(self.engine, still_pending)
        return results

    async def async_pending_deletions(self) -> list[dict[str, Any]]:
        """Unconfirmed remote deletions, without their secrets (for diagnostics)."""
        return [
            {
                "installation_id": item.installation_id,
                "receiver_url": item.receiver_url,
                "attempts": item.attempts,
                "next_attempt_at": item.next_attempt_at,
            }
            for item in await load_pending_deletions(self.engine)
        ]
