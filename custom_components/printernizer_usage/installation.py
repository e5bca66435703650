"""The sharing identity: a random installation id of this integration's own plus an ownership secret.

Reconciled with the user's choice at every set-up: sharing on without an identity creates one; sharing off
with an identity retires it into the persisted list of remote deletions (retried until confirmed).
"""

import json
import secrets
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

from .const import (
    ROTATION_AGE,
    SETTING_FIRST_SEEN,
    SETTING_INSTALLATION_ID,
    SETTING_INSTALLATION_SECRET,
    SETTING_PENDING_DELETIONS,
)
from .engine.engine import UsageEngine


@dataclass(frozen=True, slots=True)
class Installation:
    """The identity the receiver knows this installation by."""

    installation_id: str
    secret: str
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class PendingDeletion:
    """A remote deletion that the receiver has not confirmed yet."""

    installation_id: str
    secret: str
    receiver_url: str
    submit_key: str


def new_installation(now: datetime) -> Installation:
    """A fresh random identity (never derived from Home Assistant's own uuid)."""
    return Installation(str(uuid.uuid4()), secrets.token_urlsafe(32), now)


async def load_installation(engine: UsageEngine) -> Installation | None:
    """The current identity, if sharing has one."""
    installation_id = await engine.get_setting(SETTING_INSTALLATION_ID)
    secret = await engine.get_setting(SETTING_INSTALLATION_SECRET)
    first_seen = await engine.get_setting(SETTING_FIRST_SEEN)
    if installation_id is None or secret is None or first_seen is None:
        return None
    return Installation(installation_id, secret, datetime.fromisoformat(first_seen))


async def save_installation(engine: UsageEngine, installation: Installation | None) -> None:
    """Store (or with `None` forget) the current identity."""
    await engine.set_setting(
        SETTING_INSTALLATION_ID, installation.installation_id if installation else None
    )
    await engine.set_setting(
        SETTING_INSTALLATION_SECRET, installation.secret if installation else None
    )
    await engine.set_setting(
        SETTING_FIRST_SEEN, installation.first_seen.isoformat() if installation else None
    )


async def load_pending_deletions(engine: UsageEngine) -> list[PendingDeletion]:
    """Remote deletions still waiting for the receiver's confirmation."""
    raw = await engine.get_setting(SETTING_PENDING_DELETIONS)
    return [PendingDeletion(**item) for item in json.loads(raw)] if raw else []


async def save_pending_deletions(engine: UsageEngine, pending: list[PendingDeletion]) -> None:
    """Persist the remote deletions still to be confirmed."""
    await engine.set_setting(
        SETTING_PENDING_DELETIONS,
        json.dumps([asdict(item) for item in pending]) if pending else None,
    )


async def add_pending_deletion(engine: UsageEngine, deletion: PendingDeletion) -> None:
    """Remember that everything sent under `deletion.installation_id` must be deleted remotely."""
    pending = await load_pending_deletions(engine)
    if all(item.installation_id != deletion.installation_id for item in pending):
        pending.append(deletion)
        await save_pending_deletions(engine, pending)


async def reconcile_installation(
    engine: UsageEngine,
    *,
    sharing_enabled: bool,
    rotate_yearly: bool,
    receiver_url: str,
    submit_key: str,
    now: datetime,
) -> Installation | None:
    """Bring the stored identity in line with the sharing choice; returns the identity to send under."""
    current = await load_installation(engine)
    if not sharing_enabled:
        if current is not None:
            await retire_installation(engine, current, receiver_url, submit_key)
        return None
    if current is not None and rotate_yearly and now - current.first_seen >= ROTATION_AGE:
        # Rotation makes the years unlinkable; the old id's data stays as anonymous history.
        await engine.discard_outbox(current.installation_id)
        current = None
    if current is None:
        current = new_installation(now)
        await save_installation(engine, current)
    return current


async def retire_installation(
    engine: UsageEngine, current: Installation, receiver_url: str, submit_key: str
) -> None:
    """Sharing was switched off: stop uploads and queue the remote deletion."""
    await engine.discard_outbox(current.installation_id)
    await add_pending_deletion(
        engine, PendingDeletion(current.installation_id, current.secret, receiver_url, submit_key)
    )
    await save_installation(engine, None)
