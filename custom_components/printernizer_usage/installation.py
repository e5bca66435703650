"""The sharing identity: a random installation id of this integration's own plus an ownership secret.

Reconciled with the user's choice at every set-up: sharing on without an identity creates one; sharing off
(or a new receiver URL) retires it into the persisted list of remote deletions (retried until confirmed).
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
    SETTING_INSTALLATION_RECEIVER,
    SETTING_INSTALLATION_SECRET,
)
from .engine.engine import UsageEngine
from .pending_deletions import PendingDeletion, add_pending_deletion


@dataclass(frozen=True, slots=True)
class Installation:
    """The identity the receiver knows this installation by."""

    installation_id: str
    secret: str
    first_seen: datetime


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


@dataclass(frozen=True, slots=True)
class ReceiverBinding:
    """The receiver (and the key) the current identity sends to; deletions go there."""

    receiver_url: str
    submit_key: str


def same_receiver(first: str, second: str) -> bool:
    """Whether two receiver URLs name the same receiver (a trailing slash does not matter)."""
    return first.strip().rstrip("/") == second.strip().rstrip("/")


async def load_receiver_binding(engine: UsageEngine) -> ReceiverBinding | None:
    """Where the current identity has been sending to (None before the first identity)."""
    raw = await engine.get_setting(SETTING_INSTALLATION_RECEIVER)
    return ReceiverBinding(**json.loads(raw)) if raw else None


async def save_receiver_binding(engine: UsageEngine, binding: ReceiverBinding | None) -> None:
    """Store (or with `None` forget) where the current identity sends to."""
    await engine.set_setting(
        SETTING_INSTALLATION_RECEIVER, json.dumps(asdict(binding)) if binding else None
    )


async def reconcile_installation(
    engine: UsageEngine,
    *,
    sharing_enabled: bool,
    rotate_yearly: bool,
    receiver_url: str,
    submit_key: str,
    now: datetime,
) -> Installation | None:
    """Bring the stored identity in line with the sharing choice and the configured receiver; returns
    the identity to send under.

    Sharing off, or another receiver URL: the identity is retired and its data deleted at the receiver
    it was sent to (with the key it used). Only the submit key changed: the identity stays.
    """
    current = await load_installation(engine)
    configured = ReceiverBinding(receiver_url, submit_key)
    stored = await load_receiver_binding(engine)
    bound = stored or configured
    if current is not None and (
        not sharing_enabled or not same_receiver(bound.receiver_url, receiver_url)
    ):
        await retire_installation(engine, current, bound)
        current = None
    if not sharing_enabled:
        return None
    if current is not None and rotate_yearly and now - current.first_seen >= ROTATION_AGE:
        # Rotation makes the years unlinkable; the old id's data stays as anonymous history.
        await engine.discard_outbox(current.installation_id)
        current = None
    if current is None:
        current = new_installation(now)
        await save_installation(engine, current)
    if stored != configured:
        await save_receiver_binding(engine, configured)
    return current


async def retire_installation(
    engine: UsageEngine, current: Installation, receiver: ReceiverBinding
) -> None:
    """Stop sending under `current` and queue the deletion of its data at `receiver`."""
    await engine.discard_outbox(current.installation_id)
    await add_pending_deletion(
        engine,
        PendingDeletion(
            current.installation_id, current.secret, receiver.receiver_url, receiver.submit_key
        ),
    )
    await save_installation(engine, None)
    await save_receiver_binding(engine, None)
