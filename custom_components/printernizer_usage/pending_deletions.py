"""Remote deletions the receiver has not confirmed yet: the retry policy, and what survives a removal.

While the integration is installed, a pending deletion is an identity with `deletion_requested` in the
local database (`engine/identities.py`), retried by the delivery scheduler. When the integration is
removed and the receiver does not confirm in time, the database is deleted but the deletions are not
dropped: they move to a small Home Assistant Store file (`.storage/printernizer_usage.pending_deletions`),
a persistent repair issue names the receivers, and they are retried with backoff for as long as Home
Assistant runs. After a restart without the integration nothing of it runs; adding it again (sharing may
stay off) adopts the deletions into its database, where they are retried until confirmed.
"""

import logging
import random
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import ClientSession
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .engine.engine import UsageEngine
from .engine.identities import Identity
from .engine.receiver_url import receiver_host
from .engine.timeutil import from_timestamp
from .engine.uploader import ReceiverHealth, request_deletion
from .issues import async_remote_deletions_pending

_LOGGER = logging.getLogger(__name__)

ORPHANED_DELETIONS_STORE_KEY = f"{DOMAIN}.pending_deletions"
ORPHANED_DELETIONS_STORE_VERSION = 1
RETRY_BASE = timedelta(minutes=5)
RETRY_MAX = timedelta(hours=24)
DATA_ORPHANED_DELETIONS: HassKey[OrphanedDeletions] = HassKey(f"{DOMAIN}_orphaned_deletions")

_jitter = random.Random()  # noqa: S311 - spreading retries, not secrets


def next_deletion_attempt(attempts: int, now: datetime) -> datetime:
    """When to ask again after `attempts` unconfirmed requests: exponential backoff with full jitter,
    between `RETRY_BASE` and `RETRY_MAX`."""
    ceiling: timedelta = min(RETRY_MAX, RETRY_BASE * 2 ** min(attempts, 16))
    wait: timedelta = max(RETRY_BASE, ceiling * _jitter.random())
    return now + wait


@dataclass(frozen=True, slots=True)
class OrphanedDeletion:
    """A deletion left by a removal, with what proves ownership (the Store file's format)."""

    installation_id: str
    secret: str
    receiver_url: str
    submit_key: str
    attempts: int = 0
    next_attempt_at: str | None = None  # ISO time; None: due at once

    @classmethod
    def of(cls, identity: Identity) -> OrphanedDeletion:
        return cls(
            identity.installation_id,
            identity.secret,
            identity.receiver_url,
            identity.submit_key,
            identity.deletion_attempts,
        )

    def is_due(self, now: datetime) -> bool:
        return self.next_attempt_at is None or datetime.fromisoformat(self.next_attempt_at) <= now

    def after_failure(self, now: datetime) -> OrphanedDeletion:
        at = next_deletion_attempt(self.attempts, now)
        return replace(self, attempts=self.attempts + 1, next_attempt_at=at.isoformat())

    def as_identity(self) -> Identity:
        """As a retired identity whose deletion is requested (due at once)."""
        return Identity(
            installation_id=self.installation_id,
            secret=self.secret,
            receiver_url=self.receiver_url,
            submit_key=self.submit_key,
            first_week=from_timestamp(0),
            deletion_requested=True,
            deletion_attempts=self.attempts,
        )


def _merge(
    kept: list[OrphanedDeletion], additions: list[OrphanedDeletion]
) -> list[OrphanedDeletion]:
    known = {item.installation_id for item in kept}
    return kept + [item for item in additions if item.installation_id not in known]


class OrphanedDeletions:
    """The deletions of a removed integration: kept in a Store file, retried while Home Assistant
    runs, adopted by the next set-up."""

    def __init__(self, hass: HomeAssistant, session: ClientSession) -> None:
        self._hass = hass
        self._session = session
        self._store: Store[list[dict[str, Any]]] = Store(
            hass,
            ORPHANED_DELETIONS_STORE_VERSION,
            ORPHANED_DELETIONS_STORE_KEY,
            private=True,
            atomic_writes=True,
        )
        self._unsub: CALLBACK_TYPE | None = None
        self._health: dict[str, ReceiverHealth] = {}

    async def async_load(self) -> list[OrphanedDeletion]:
        return [OrphanedDeletion(**item) for item in await self._store.async_load() or []]

    async def _async_save(self, deletions: list[OrphanedDeletion]) -> None:
        if deletions:
            await self._store.async_save([asdict(item) for item in deletions])
        else:
            await self._store.async_remove()
        async_remote_deletions_pending(
            self._hass, [receiver_host(item.receiver_url) for item in deletions]
        )

    async def async_keep(self, deletions: list[OrphanedDeletion]) -> None:
        """Keep unconfirmed deletions outside the database (which is about to be deleted), raise
        the repair issue and retry them."""
        kept = _merge(await self.async_load(), deletions)
        await self._async_save(kept)
        self._schedule_next(kept, dt_util.utcnow())

    async def async_adopt(self, engine: UsageEngine) -> int:
        """Move the deletions into the database of a new set-up (where they are retried), then
        delete the Store file. Returns how many were adopted."""
        orphans = await self.async_load()
        self.async_cancel()
        if not orphans:
            return 0
        known = {item.installation_id for item in await engine.identities.all()}
        for item in orphans:
            if item.installation_id not in known:
                await engine.identities.add(item.as_identity())
        await self._async_save([])
        return len(orphans)

    @callback
    def _schedule(self, at: datetime) -> None:
        self.async_cancel()
        self._unsub = async_track_point_in_utc_time(self._hass, self._async_retry, at)

    @callback
    def async_cancel(self) -> None:
        """Stop retrying (Home Assistant stops, or a set-up adopts the deletions)."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    async def _async_retry(self, _scheduled: datetime) -> None:
        self._unsub = None
        now = dt_util.utcnow()
        still: list[OrphanedDeletion] = []
        for item in await self.async_load():
            if not item.is_due(now):
                still.append(item)
                continue
            health = self._health.setdefault(item.receiver_url, ReceiverHealth(item.receiver_url))
            result = await request_deletion(
                self._session,
                item.receiver_url,
                item.submit_key,
                item.installation_id,
                item.secret,
                health=health,
            )
            if not result.confirmed:
                still.append(item.after_failure(now))
        await self._async_save(still)
        self._schedule_next(still, now)
        if not still:
            _LOGGER.info("The receiver confirmed the deletions left by the removal")

    @callback
    def _schedule_next(self, deletions: list[OrphanedDeletion], now: datetime) -> None:
        if not deletions:
            return
        waits = [
            datetime.fromisoformat(item.next_attempt_at)
            for item in deletions
            if item.next_attempt_at is not None
        ]
        self._schedule(max(min(waits, default=now), now + timedelta(seconds=1)))


@callback
def async_orphaned_deletions(hass: HomeAssistant) -> OrphanedDeletions:
    """The one `OrphanedDeletions` of this Home Assistant instance."""
    if (orphans := hass.data.get(DATA_ORPHANED_DELETIONS)) is None:
        orphans = OrphanedDeletions(hass, async_get_clientsession(hass))
        hass.data[DATA_ORPHANED_DELETIONS] = orphans

        @callback
        def _stop(_event: Event) -> None:
            orphans.async_cancel()  # what is left stays in the Store file

        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _stop)
    return orphans
