"""The delivery scheduler: when weeks are enqueued and sent, the credentials pause, remote deletions.

Driven by Home Assistant's time: a wake at the next moment something is due
(`async_track_point_in_utc_time`: the installation's weekly moment, a retry, a deletion) and a check every
`DELIVERY_CHECK_INTERVAL` (`async_track_time_interval`, which runs on the monotonic clock, so a wall clock
that jumps back cannot put the schedule to sleep).

One round, under a lock:
1. clock sanity: weeks enqueued while the clock was ahead and not ended now are enqueued again once they
   have (`Outbox.rewind_unfinished_weeks`); no wait lasts longer than the longest backoff;
2. due remote deletions (every identity whose deletion was asked for; confirmed only by the receiver);
3. yearly rotation, then the completed weeks of the current identity into the outbox;
4. the outbox of every identity not being deleted, oldest week first; a 401/403 for the current
   identity pauses its delivery (persisted) and raises a repair issue.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import ClientSession
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time, async_track_time_interval
from homeassistant.util import dt as dt_util

from .const import DELIVERY_CHECK_INTERVAL, DOMAIN
from .context import HostFacts
from .engine.engine import UsageEngine
from .engine.identities import Identity
from .engine.payload import InstallationContext
from .engine.printernizer_server import PrinternizerServer
from .engine.receiver_url import receiver_host, receiver_url_problem
from .engine.uploader import LONGEST_WAIT, DeliveryReport, ReceiverHealth, Uploader
from .installation import rotate_if_due
from .issues import async_credentials_accepted, async_credentials_refused
from .pending_deletions import RETRY_MAX, next_deletion_attempt
from .schedule import enqueue_horizon, next_weekly_submission

if TYPE_CHECKING:
    from .data import PrinternizerUsageConfigEntry

_LOGGER = logging.getLogger(__name__)
MIN_WAKE = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class SharingStatus:
    """What the diagnostic sensors show about sharing."""

    sharing_enabled: bool
    pending_uploads: int
    last_submission: datetime | None
    next_submission: datetime | None


class DeliveryScheduler:
    """Sends the weekly payloads of the current identity and what retired identities still have,
    and asks receivers to delete what identities sent, until they confirm."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PrinternizerUsageConfigEntry,
        *,
        engine: UsageEngine,
        facts: HostFacts,
        identity: Identity | None,
        session: ClientSession,
        rotate_yearly: bool = False,
        printernizer_server: PrinternizerServer | None = None,
    ) -> None:
        """Prepare; `async_start` starts the timers."""
        self.hass = hass
        self.entry = entry
        self.engine = engine
        self.facts = facts
        self.printernizer_server = printernizer_server
        self._identity = identity
        self._session = session
        self._rotate_yearly = rotate_yearly
        self._lock = asyncio.Lock()
        self._health: dict[str, ReceiverHealth] = {}
        self._uploaders: dict[tuple[str, str, str], Uploader] = {}
        self._unsub_wake: CALLBACK_TYPE | None = None
        self._unsub_tick: CALLBACK_TYPE | None = None
        self._rounds: set[asyncio.Task[Any]] = set()
        self._stopped = False
        # Called after each round (the coordinator refreshes the sensors).
        self.on_change: Callable[[], Awaitable[None]] | None = None

    # --- the identity and the payload ---------------------------------------------------------

    @property
    def identity(self) -> Identity | None:
        """The identity new weeks are sent under (None while sharing is off)."""
        return self._identity

    @property
    def sharing_enabled(self) -> bool:
        return self._identity is not None

    def payload_context(self) -> InstallationContext:
        """The payload context of the current identity (a placeholder id while sharing is off)."""
        return self.facts.context(
            self._identity, printernizer_server=self.printernizer_server is not None
        )

    async def async_preview_payload(self) -> dict[str, Any]:
        """Exactly what would be sent next."""
        return await self.engine.preview_next_payload(
            self.payload_context(), self.printernizer_server
        )

    async def async_status(self, now: datetime) -> SharingStatus:
        """Sharing on/off, pending payloads, the last delivery and the next moment of sending."""
        return SharingStatus(
            sharing_enabled=self.sharing_enabled,
            pending_uploads=await self.engine.outbox.pending_count(),
            last_submission=await self.engine.outbox.last_delivery(),
            next_submission=await self._next_submission(now),
        )

    async def _next_submission(self, now: datetime) -> datetime | None:
        if self._identity is None:
            return None
        weekly = next_weekly_submission(self._identity.installation_id, now)
        retry = await self.engine.outbox.next_attempt_at()
        return min(weekly, max(retry, now)) if retry is not None else weekly

    # --- timers -------------------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Start the schedule (once Home Assistant has started): a round now, then as due."""
        if self._stopped:
            return
        self._unsub_tick = async_track_time_interval(
            self.hass, self._async_wake, DELIVERY_CHECK_INTERVAL, name=f"{DOMAIN} delivery check"
        )
        self._schedule_wake(dt_util.utcnow())

    async def async_stop(self) -> None:
        """Stop the timers, cancel a round in progress, wait for running actions to finish."""
        self._stopped = True
        for unsub in (self._unsub_tick, self._unsub_wake):
            if unsub is not None:
                unsub()
        self._unsub_tick = self._unsub_wake = None
        for task in list(self._rounds):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._lock:
            pass

    @callback
    def _schedule_wake(self, at: datetime) -> None:
        if self._unsub_wake is not None:
            self._unsub_wake()
        self._unsub_wake = async_track_point_in_utc_time(self.hass, self._async_point_wake, at)

    async def _async_point_wake(self, now: datetime) -> None:
        self._unsub_wake = None
        await self._async_wake(now)

    def _running(self) -> bool:
        return not self._stopped

    async def _async_wake(self, now: datetime) -> None:
        if not self._running():
            return
        task = asyncio.current_task()
        assert task is not None
        self._rounds.add(task)
        try:
            await self.async_run(dt_util.utcnow())
            next_wake = await self._next_wake(dt_util.utcnow())
        finally:
            self._rounds.discard(task)
        if not self._running():
            return
        if next_wake is not None:
            self._schedule_wake(next_wake)
        if self.on_change is not None:
            await self.on_change()

    async def _next_wake(self, now: datetime) -> datetime | None:
        """The next moment something is due, if before the next periodic check."""
        candidates: list[datetime] = []
        if self._identity is not None:
            candidates.append(next_weekly_submission(self._identity.installation_id, now))
        for identity in await self.engine.identities.all():
            if identity.deletion_requested and identity.next_deletion_at is not None:
                candidates.append(identity.next_deletion_at)
            elif not identity.deletion_requested:
                retry = await self.engine.outbox.next_attempt_at(identity.installation_id)
                if retry is not None:
                    candidates.append(retry)
        due = [moment for moment in candidates if moment >= now + MIN_WAKE]
        soonest = min(due, default=None)
        return soonest if soonest is not None and soonest < now + DELIVERY_CHECK_INTERVAL else None

    # --- one round ----------------------------------------------------------------------------

    async def async_run(self, now: datetime) -> DeliveryReport | None:
        """One round (see the module docstring). Returns the current identity's delivery report."""
        async with self._lock:
            outbox, identities = self.engine.outbox, self.engine.identities
            if rewound := await outbox.rewind_unfinished_weeks(now):
                _LOGGER.info(
                    "The clock went back: %d weekly payload(s) of weeks that have not ended are "
                    "built again when they have",
                    rewound,
                )
            await outbox.clamp_waits(now + LONGEST_WAIT)
            await identities.clamp_waits(now + RETRY_MAX)
            await outbox.prune(now)
            await self._retry_deletions(now, everything=False)
            self._identity = await identities.current()
            if self._identity is not None and self._rotate_yearly:
                self._identity = await rotate_if_due(self.engine, self._identity, now)
            current = self._identity
            if (
                current is not None
                and not current.deletion_requested
                and receiver_url_problem(current.receiver_url) is None
            ):
                await self.engine.enqueue_completed_weeks(
                    self.payload_context(),
                    enqueue_horizon(current.installation_id, now),
                    self.printernizer_server,
                )
            return await self._deliver(now)

    async def _deliver(self, now: datetime) -> DeliveryReport | None:
        report: DeliveryReport | None = None
        for identity in await self.engine.identities.all():
            if identity.deletion_requested:
                continue  # its deletion first; what waits is sent after it is confirmed
            if not await self.engine.outbox.pending_count(identity.installation_id):
                continue
            result = await self._uploader(identity).deliver_due(now)
            if identity.current:
                report = result
                await self._note_credentials(identity, result)
        self._identity = await self.engine.identities.current()
        return report

    async def async_submit_now(self) -> DeliveryReport:
        """The user asks to send now: enqueue every completed week at once (ignoring the spread) and
        deliver everything pending, ignoring any backoff or credentials pause."""
        current = self._identity
        assert current is not None
        async with self._lock:
            now = dt_util.utcnow()
            await self.engine.enqueue_completed_weeks(
                self.payload_context(), now, self.printernizer_server
            )
            reports: list[DeliveryReport] = []
            for identity in await self.engine.identities.all():
                if identity.deletion_requested:
                    continue
                await self.engine.outbox.make_due(identity.installation_id, now)
                result = await self._uploader(identity).deliver_due(now)
                if identity.current:
                    await self._note_credentials(identity, result)
                reports.append(result)
            self._identity = await self.engine.identities.current()
        if self.on_change is not None:
            await self.on_change()
        return _combined(reports)

    def _uploader(self, identity: Identity) -> Uploader:
        key = (identity.installation_id, identity.receiver_url, identity.submit_key)
        if (uploader := self._uploaders.get(key)) is None:
            uploader = Uploader(
                self._session,
                self.engine.outbox,
                identity.receiver_url,
                identity.submit_key,
                identity.installation_id,
                identity.secret,
                health=self._health_of(identity.receiver_url),
            )
            self._uploaders[key] = uploader
        return uploader

    def _health_of(self, receiver_url: str) -> ReceiverHealth:
        """One reachability state per receiver: one warning per outage, whichever id asked."""
        key = receiver_url.strip().rstrip("/")
        if (health := self._health.get(key)) is None:
            health = self._health[key] = ReceiverHealth(receiver_url)
        return health

    # --- the credentials pause ----------------------------------------------------------------

    async def async_restore(self) -> None:
        """At set-up: show the repair issue again while the current identity's credentials stay
        refused; remove it when they changed (the pause ended)."""
        if self._identity is not None and self._identity.refused_status is not None:
            async_credentials_refused(
                self.hass,
                self._identity.refused_status,
                receiver_host(self._identity.receiver_url),
            )
        else:
            async_credentials_accepted(self.hass)

    async def _note_credentials(self, identity: Identity, report: DeliveryReport) -> None:
        if report.auth_failed_status is not None:
            await self.engine.identities.set_refused(
                identity.installation_id, report.auth_failed_status
            )
            async_credentials_refused(
                self.hass, report.auth_failed_status, receiver_host(identity.receiver_url)
            )
        elif report.sent and identity.refused_status is not None:
            await self.engine.identities.set_refused(identity.installation_id, None)
            async_credentials_accepted(self.hass)

    # --- remote deletion ----------------------------------------------------------------------

    async def async_request_remote_deletion(self) -> bool:
        """Ask the receivers to delete everything every identity sent (current and retired), now,
        whatever the retry schedule says. True when all of them confirmed."""
        async with self._lock:
            for identity in await self.engine.identities.all():
                await self.engine.identities.request_deletion(identity.installation_id)
            await self._retry_deletions(dt_util.utcnow(), everything=True)
            self._identity = await self.engine.identities.current()
            pending = [i for i in await self.engine.identities.all() if i.deletion_requested]
        if self.on_change is not None:
            await self.on_change()
        return not pending

    async def _retry_deletions(self, now: datetime, *, everything: bool) -> None:
        for identity in await self.engine.identities.all():
            if not identity.deletion_requested or not (everything or identity.deletion_due(now)):
                continue
            result = await self._uploader(identity).request_remote_deletion(now)
            if result.confirmed:
                await self.engine.identities.deletion_confirmed(identity.installation_id)
                if not identity.current:
                    await self.engine.outbox.forget_cursor(identity.installation_id)
            else:
                await self.engine.identities.deletion_failed(
                    identity.installation_id,
                    next_deletion_attempt(identity.deletion_attempts, now),
                )


def _combined(reports: list[DeliveryReport]) -> DeliveryReport:
    """One report for several identities' rounds."""
    if not reports:
        return DeliveryReport()
    retries = [report.retry_at for report in reports if report.retry_at is not None]
    reached = [report.reachable for report in reports if report.reachable is not None]
    return DeliveryReport(
        sent=sum(report.sent for report in reports),
        rejected=sum(report.rejected for report in reports),
        retry_at=min(retries, default=None),
        reachable=None if not reached else all(reached),
        auth_failed_status=next(
            (r.auth_failed_status for r in reports if r.auth_failed_status is not None), None
        ),
        pending=sum(report.pending for report in reports),
        error=next((r.error for r in reversed(reports) if r.error is not None), None),
    )
