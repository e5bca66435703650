"""Remote deletions the receiver has not confirmed yet: persisted, retried with backoff until confirmed.

They live in the local database while the integration is installed. When the integration is removed and
a deletion cannot be confirmed in time, they move to a small Home Assistant Store file (which survives the
database) and are adopted again by the next set-up.
"""

import json
import random
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN, SETTING_PENDING_DELETIONS
from .engine.engine import UsageEngine

ORPHANED_DELETIONS_STORE_KEY = f"{DOMAIN}.pending_deletions"
ORPHANED_DELETIONS_STORE_VERSION = 1
RETRY_BASE = timedelta(minutes=5)
RETRY_MAX = timedelta(hours=24)

_jitter = random.Random()  # noqa: S311 - spreading retries, not secrets


@dataclass(frozen=True, slots=True)
class PendingDeletion:
    """A remote deletion that the receiver has not confirmed yet (with what proves ownership)."""

    installation_id: str
    secret: str
    receiver_url: str
    submit_key: str
    attempts: int = 0
    next_attempt_at: str | None = None  # ISO time; None: due at once

    def is_due(self, now: datetime) -> bool:
        """Whether to ask the receiver again at `now`."""
        return self.next_attempt_at is None or datetime.fromisoformat(self.next_attempt_at) <= now

    def after_failure(self, now: datetime) -> PendingDeletion:
        """The same deletion, waiting with exponential backoff (full jitter) before the next try."""
        ceiling = min(RETRY_MAX, RETRY_BASE * 2 ** min(self.attempts, 16))
        wait = max(RETRY_BASE, ceiling * _jitter.random())
        return replace(self, attempts=self.attempts + 1, next_attempt_at=(now + wait).isoformat())

    def as_due(self) -> PendingDeletion:
        """The same deletion, due at once (the user asked for it)."""
        return replace(self, next_attempt_at=None)


def _parse(items: Iterable[dict[str, Any]]) -> list[PendingDeletion]:
    return [PendingDeletion(**item) for item in items]


async def load_pending_deletions(engine: UsageEngine) -> list[PendingDeletion]:
    """Remote deletions still waiting for the receiver's confirmation."""
    raw = await engine.get_setting(SETTING_PENDING_DELETIONS)
    return _parse(json.loads(raw)) if raw else []


async def save_pending_deletions(engine: UsageEngine, pending: list[PendingDeletion]) -> None:
    """Persist the remote deletions still to be confirmed."""
    await engine.set_setting(
        SETTING_PENDING_DELETIONS,
        json.dumps([asdict(item) for item in pending]) if pending else None,
    )


def merge_deletions(
    pending: list[PendingDeletion], additions: Iterable[PendingDeletion]
) -> list[PendingDeletion]:
    """`pending` plus the additions whose installation id is not in it yet."""
    merged = list(pending)
    known = {item.installation_id for item in merged}
    for deletion in additions:
        if deletion.installation_id not in known:
            merged.append(deletion)
            known.add(deletion.installation_id)
    return merged


async def add_pending_deletion(engine: UsageEngine, deletion: PendingDeletion) -> None:
    """Remember that everything sent under `deletion.installation_id` must be deleted remotely."""
    pending = await load_pending_deletions(engine)
    merged = merge_deletions(pending, [deletion])
    if merged != pending:
        await save_pending_deletions(engine, merged)


def _orphan_store(hass: HomeAssistant) -> Store[list[dict[str, Any]]]:
    return Store(
        hass,
        ORPHANED_DELETIONS_STORE_VERSION,
        ORPHANED_DELETIONS_STORE_KEY,
        private=True,
        atomic_writes=True,
    )


async def async_keep_orphaned_deletions(
    hass: HomeAssistant, deletions: list[PendingDeletion]
) -> None:
    """Keep unconfirmed deletions outside the database (which is about to be deleted)."""
    store = _orphan_store(hass)
    kept = _parse(await store.async_load() or [])
    await store.async_save([asdict(item) for item in merge_deletions(kept, deletions)])


async def async_adopt_orphaned_deletions(hass: HomeAssistant, engine: UsageEngine) -> int:
    """Move deletions left behind by an earlier removal into the database (where they are retried),
    then delete the Store file. Returns how many were adopted."""
    store = _orphan_store(hass)
    orphans = await store.async_load()
    if orphans is None:
        return 0
    adopted = [item.as_due() for item in _parse(orphans)]
    pending = await load_pending_deletions(engine)
    await save_pending_deletions(engine, merge_deletions(pending, adopted))
    await store.async_remove()
    return len(adopted)
