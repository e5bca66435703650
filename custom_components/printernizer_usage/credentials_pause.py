"""Delivery paused because the receiver refused the credentials (HTTP 401/403).

The pause is persisted with a fingerprint of what the receiver refused (receiver URL, submit key,
installation id). A set-up with a different fingerprint means the user changed something: the pause ends
and the waiting payloads are sent at once. Otherwise delivery only re-checks slowly (the uploader's
`credentials_recheck`) until the receiver accepts again.
"""

import hashlib
import json
from dataclasses import asdict, dataclass

from .const import SETTING_CREDENTIALS_PAUSE
from .engine.engine import UsageEngine


@dataclass(frozen=True, slots=True)
class CredentialsPause:
    """The receiver answered `status` to what `fingerprint` describes."""

    status: int
    fingerprint: str


def credentials_fingerprint(installation_id: str, receiver_url: str, submit_key: str) -> str:
    """A digest of what the receiver judged (the key itself is not stored a second time)."""
    material = "\n".join((installation_id, receiver_url.strip().rstrip("/"), submit_key))
    return hashlib.sha256(material.encode()).hexdigest()


async def load_credentials_pause(engine: UsageEngine) -> CredentialsPause | None:
    """The current pause, if delivery is paused."""
    raw = await engine.get_setting(SETTING_CREDENTIALS_PAUSE)
    return CredentialsPause(**json.loads(raw)) if raw else None


async def save_credentials_pause(engine: UsageEngine, pause: CredentialsPause | None) -> None:
    """Store (or with `None` end) the pause."""
    await engine.set_setting(
        SETTING_CREDENTIALS_PAUSE, json.dumps(asdict(pause)) if pause else None
    )
