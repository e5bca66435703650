"""Removing the integration: delete remotely what every identity sent (bounded in time), then the local
database.

Deletions the receiver does not confirm in time are not dropped: they move to a Home Assistant Store
file with a repair issue and are retried while Home Assistant runs (`pending_deletions.py`).
"""

import asyncio
import logging
from pathlib import Path

from aiohttp import ClientSession
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util

from .const import REMOVAL_DELETION_TIMEOUT
from .engine.engine import UsageEngine
from .engine.identities import Identity
from .engine.uploader import request_deletion
from .installation import ReceiverBinding, async_migrate_legacy_settings
from .pending_deletions import OrphanedDeletion, async_orphaned_deletions

_LOGGER = logging.getLogger(__name__)


async def _request_deletions(session: ClientSession, identities: list[Identity]) -> dict[str, bool]:
    """Ask each receiver once, concurrently; returns which ids were confirmed so far (whatever
    answered before a timeout cancels the rest)."""
    confirmed: dict[str, bool] = {item.installation_id: False for item in identities}

    async def ask(identity: Identity) -> None:
        result = await request_deletion(
            session,
            identity.receiver_url,
            identity.submit_key,
            identity.installation_id,
            identity.secret,
        )
        confirmed[identity.installation_id] = result.confirmed

    try:
        async with asyncio.timeout(REMOVAL_DELETION_TIMEOUT.total_seconds()):
            await asyncio.gather(*(ask(item) for item in identities))
    except TimeoutError:
        pass
    return confirmed


async def async_delete_everything(
    hass: HomeAssistant, path: Path, configured: ReceiverBinding
) -> None:
    """Request the deletion of every identity's data (waiting at most `REMOVAL_DELETION_TIMEOUT`),
    keep the unconfirmed ones outside the database, then delete the database."""
    engine = await UsageEngine.open(path, clock=dt_util.utcnow)
    try:
        await async_migrate_legacy_settings(engine, configured)
        identities = await engine.identities.all()
        confirmed = (
            await _request_deletions(async_get_clientsession(hass), identities)
            if identities
            else {}
        )
        now = dt_util.utcnow()
        unconfirmed = [
            OrphanedDeletion.of(item).after_failure(now)
            for item in identities
            if not confirmed[item.installation_id]
        ]
        if unconfirmed:
            await async_orphaned_deletions(hass).async_keep(unconfirmed)
            _LOGGER.warning(
                "The receiver did not confirm the deletion of the shared statistics of %d "
                "installation id(s); it is retried while Home Assistant runs (see Repairs)",
                len(unconfirmed),
            )
    finally:
        await engine.close()
    await hass.async_add_executor_job(delete_database_files, path)


def delete_database_files(path: Path) -> None:
    """Delete the database and its write-ahead log files (runs in the executor)."""
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        candidate.unlink(missing_ok=True)
