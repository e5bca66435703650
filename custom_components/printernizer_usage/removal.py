"""Removing the integration: delete remotely what was sent (bounded in time), then the local database.

Deletions the receiver does not confirm in time are kept in a Home Assistant Store file, which survives
the database; a later set-up adopts and retries them.
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
from .engine.uploader import Uploader
from .installation import ReceiverBinding, load_installation, load_receiver_binding
from .pending_deletions import (
    PendingDeletion,
    async_keep_orphaned_deletions,
    load_pending_deletions,
    merge_deletions,
)

_LOGGER = logging.getLogger(__name__)


async def deletions_on_removal(
    engine: UsageEngine, configured: ReceiverBinding
) -> list[PendingDeletion]:
    """Every identity whose data must be deleted remotely: retired ones and the current one."""
    pending = await load_pending_deletions(engine)
    current = await load_installation(engine)
    if current is None:
        return pending
    receiver = await load_receiver_binding(engine) or configured
    return merge_deletions(
        pending,
        [
            PendingDeletion(
                current.installation_id,
                current.secret,
                receiver.receiver_url,
                receiver.submit_key,
            )
        ],
    )


async def _request_deletions(
    session: ClientSession, engine: UsageEngine, deletions: list[PendingDeletion]
) -> list[PendingDeletion]:
    """Ask each receiver once, concurrently; returns the deletions not confirmed."""

    async def confirmed(deletion: PendingDeletion) -> bool:
        uploader = Uploader(
            session,
            engine,
            deletion.receiver_url,
            deletion.submit_key,
            deletion.installation_id,
            deletion.secret,
        )
        return (await uploader.request_remote_deletion(dt_util.utcnow())).confirmed

    outcomes = await asyncio.gather(*(confirmed(item) for item in deletions))
    return [item for item, done in zip(deletions, outcomes, strict=True) if not done]


async def async_delete_everything(
    hass: HomeAssistant, path: Path, configured: ReceiverBinding
) -> None:
    """Request the remote deletions (waiting at most `REMOVAL_DELETION_TIMEOUT`), keep the unconfirmed
    ones outside the database, then delete the database."""
    engine = await UsageEngine.open(path, clock=dt_util.utcnow)
    try:
        deletions = await deletions_on_removal(engine, configured)
        unconfirmed = deletions
        if deletions:
            try:
                async with asyncio.timeout(REMOVAL_DELETION_TIMEOUT.total_seconds()):
                    unconfirmed = await _request_deletions(
                        async_get_clientsession(hass), engine, deletions
                    )
            except TimeoutError:
                pass
        if unconfirmed:
            await async_keep_orphaned_deletions(hass, [item.as_due() for item in unconfirmed])
            _LOGGER.warning(
                "The receiver did not confirm the deletion of the shared statistics of %d "
                "installation id(s); it is retried if Printernizer Usage is set up again",
                len(unconfirmed),
            )
    finally:
        await engine.close()
    await hass.async_add_executor_job(delete_database_files, path)


def delete_database_files(path: Path) -> None:
    """Delete the database and its write-ahead log files (runs in the executor)."""
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        candidate.unlink(missing_ok=True)
