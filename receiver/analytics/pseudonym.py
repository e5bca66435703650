"""Pseudonymised installation ids for the raw export: an HMAC of the id, so the same installation has
the same pseudonym throughout an export (and across exports while RECEIVER_EXPORT_PSEUDONYM_KEY stays
the same), and nobody without the key can link it back. Without a configured key every export uses a
fresh random one, so two exports cannot be joined either."""

import copy
import hashlib
import hmac
import secrets
from typing import Any


class Pseudonymiser:
    def __init__(self, key: str = "") -> None:
        self._key = key.encode() if key else secrets.token_bytes(32)

    def pseudonym(self, installation_id: str) -> str:
        return hmac.new(self._key, installation_id.encode(), hashlib.sha256).hexdigest()[:32]

    def line(self, row: dict[str, Any]) -> dict[str, Any]:
        """An exported row with its installation id (also inside the aggregate) replaced, and the
        aggregate's `first_seen` (a moment only that installation has) left out."""
        pseudonym = self.pseudonym(str(row["installation_id"]))
        aggregate = copy.deepcopy(row["aggregate"])
        installation = aggregate.get("installation")
        if isinstance(installation, dict):
            installation["installation_id"] = pseudonym
            installation.pop("first_seen", None)
        return {**row, "installation_id": pseudonym, "aggregate": aggregate}
