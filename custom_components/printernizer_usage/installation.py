"""The sharing identity: a random installation id of this integration's own plus an ownership secret.

Identities live in the engine's typed `identities` table (`engine/identities.py`). They are reconciled
with the user's choice at every set-up:

- sharing on without a current identity makes one; its first shared week is the one *after* the
  switch-on: nothing recorded before opt-in is ever sent, not even the rest of that week;
- sharing off asks the receiver to delete the data of every identity (current and retired);
- another receiver URL asks for the deletion of every identity's data at the old receiver;
- only another submit key keeps the identity (a credentials pause ends);
- with yearly rotation, an identity older than a year is retired and a new one continues from the first
  week the old one did not enqueue. The retired id is kept with its secret (if it may have sent data)
  so that opting out, the delete action and removal still delete its data.
"""

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yarl

from .const import ROTATION_AGE
from .engine.engine import UsageEngine
from .engine.identities import Identity
from .engine.timeutil import WEEK, from_timestamp, week_start

# Settings keys of the first release (0.1.0), moved into the identities table at set-up.
LEGACY_INSTALLATION_ID = "ha.installation_id"
LEGACY_INSTALLATION_SECRET = "ha.installation_secret"  # noqa: S105 (a settings key)
LEGACY_FIRST_SEEN = "ha.first_seen"
LEGACY_RECEIVER = "ha.installation_receiver"
LEGACY_PENDING_DELETIONS = "ha.pending_remote_deletions"
LEGACY_CREDENTIALS_PAUSE = "ha.credentials_pause"
LEGACY_LAST_SUBMISSION = "ha.last_submission"
LEGACY_SETTINGS = (
    LEGACY_INSTALLATION_ID,
    LEGACY_INSTALLATION_SECRET,
    LEGACY_FIRST_SEEN,
    LEGACY_RECEIVER,
    LEGACY_PENDING_DELETIONS,
    LEGACY_CREDENTIALS_PAUSE,
    LEGACY_LAST_SUBMISSION,
)


@dataclass(frozen=True, slots=True)
class ReceiverBinding:
    """A receiver and the submit key used with it."""

    receiver_url: str
    submit_key: str


def same_receiver(first: str, second: str) -> bool:
    """Whether two receiver URLs name the same receiver: the same host, port and path (a trailing
    slash, and http becoming https, do not matter)."""

    def place(url: str) -> tuple[str | None, int | None, str]:
        try:
            parsed = yarl.URL(url.strip())
        except ValueError:
            return (url.strip().rstrip("/"), None, "")
        return (parsed.host, parsed.explicit_port, parsed.path.rstrip("/"))

    return place(first) == place(second)


def new_identity(receiver: ReceiverBinding, first_week: datetime) -> Identity:
    """A fresh random current identity (never derived from Home Assistant's own uuid)."""
    return Identity(
        installation_id=str(uuid.uuid4()),
        secret=secrets.token_urlsafe(32),
        receiver_url=receiver.receiver_url,
        submit_key=receiver.submit_key,
        first_week=week_start(first_week),
        current=True,
    )


def first_week_after_opt_in(now: datetime) -> datetime:
    """The first week shared when sharing is switched on at `now`: the next ISO week."""
    return week_start(now) + WEEK


async def reconcile_installation(
    engine: UsageEngine,
    *,
    sharing_enabled: bool,
    rotate_yearly: bool,
    receiver: ReceiverBinding,
    now: datetime,
) -> Identity | None:
    """Bring the identities in line with the sharing choice and the configured receiver; returns the
    identity to send under (None while sharing is off)."""
    identities = engine.identities
    if not sharing_enabled:
        await request_deletion_of_all(engine)
        return None
    for identity in await identities.all():
        if not identity.deletion_requested and not same_receiver(
            identity.receiver_url, receiver.receiver_url
        ):
            await stop_and_delete(engine, identity)
    current = await identities.current()
    if current is not None and rotate_yearly:
        current = await rotate_if_due(engine, current, now)
    if current is None:
        current = new_identity(receiver, first_week_after_opt_in(now))
        await identities.add(current)
    elif (current.receiver_url, current.submit_key) != (receiver.receiver_url, receiver.submit_key):
        # Only the key (or the spelling of the URL) changed: the same identity, pause lifted.
        await identities.set_receiver(
            current.installation_id, receiver.receiver_url, receiver.submit_key
        )
        await engine.outbox.make_due(current.installation_id, now)
        current = await identities.current()
    return current


async def stop_and_delete(engine: UsageEngine, identity: Identity) -> None:
    """Send nothing more under `identity` and ask its receiver to delete what it has."""
    await engine.outbox.discard(identity.installation_id)
    await engine.identities.retire(identity.installation_id)
    await engine.identities.request_deletion(identity.installation_id)


async def request_deletion_of_all(engine: UsageEngine) -> None:
    """Opt-out: nothing more is sent, and every identity's data is deleted at its receiver."""
    for identity in await engine.identities.all():
        if not identity.deletion_requested:
            await stop_and_delete(engine, identity)


async def rotate_if_due(engine: UsageEngine, current: Identity, now: datetime) -> Identity:
    """Yearly rotation: after `ROTATION_AGE` a new identity continues from the first week the old one
    did not enqueue (no week is skipped or sent under both). The old one keeps sending what it has
    enqueued and is kept for deletion; if it never enqueued anything it is forgotten."""
    if now - current.first_week < ROTATION_AGE:
        return current
    last = await engine.outbox.last_enqueued_period(current.installation_id)
    rotated = new_identity(
        ReceiverBinding(current.receiver_url, current.submit_key),
        last + WEEK if last is not None else current.first_week,
    )
    await engine.identities.add(rotated)  # the old one is retired
    if last is None:
        await engine.identities.forget(current.installation_id)
    return rotated


async def async_migrate_legacy_settings(engine: UsageEngine, configured: ReceiverBinding) -> None:
    """Move the identity, the pending remote deletions and the credentials pause that the first
    release kept as settings (JSON values) into the identities table; then delete those settings."""
    values = {key: await engine.get_setting(key) for key in LEGACY_SETTINGS}
    if not any(values.values()):
        return
    known = {item.installation_id for item in await engine.identities.all()}
    installation_id = values[LEGACY_INSTALLATION_ID]
    secret = values[LEGACY_INSTALLATION_SECRET]
    first_seen = values[LEGACY_FIRST_SEEN]
    if installation_id and secret and first_seen and installation_id not in known:
        binding: dict[str, Any] = json.loads(values[LEGACY_RECEIVER] or "{}")
        pause: dict[str, Any] = json.loads(values[LEGACY_CREDENTIALS_PAUSE] or "{}")
        await engine.identities.add(
            Identity(
                installation_id=installation_id,
                secret=secret,
                receiver_url=str(binding.get("receiver_url", configured.receiver_url)),
                submit_key=str(binding.get("submit_key", configured.submit_key)),
                # The first release shared the week of the opt-in too; its cursor goes on from there.
                first_week=week_start(datetime.fromisoformat(first_seen)),
                current=True,
                refused_status=pause.get("status"),
            )
        )
        known.add(installation_id)
    for item in json.loads(values[LEGACY_PENDING_DELETIONS] or "[]"):
        if item["installation_id"] in known:
            continue
        await engine.identities.add(
            Identity(
                installation_id=item["installation_id"],
                secret=item["secret"],
                receiver_url=item["receiver_url"],
                submit_key=item["submit_key"],
                first_week=from_timestamp(0),
                deletion_requested=True,
                deletion_attempts=int(item.get("attempts", 0)),
            )
        )
        known.add(item["installation_id"])
    for key in LEGACY_SETTINGS:
        await engine.set_setting(key, None)
