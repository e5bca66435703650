"""API keys: submit keys (public, embedded in clients) and admin keys (maintainers).

A presented key is hashed and compared in constant time against every configured key of a list.
"""

import enum
import hashlib
import hmac
import secrets

from receiver.errors import ApiError

KEY_HEADER = "x-api-key"


class Capability(enum.Enum):
    SUBMIT = "submit"
    ADMIN = "admin"


def generate_key() -> str:
    return secrets.token_urlsafe(32)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


class KeyRing:
    def __init__(self, submit_keys: tuple[str, ...], admin_keys: tuple[str, ...]) -> None:
        self._submit = tuple(_digest(key) for key in submit_keys)
        self._admin = tuple(_digest(key) for key in admin_keys)

    @staticmethod
    def _matches(digest: bytes, digests: tuple[bytes, ...]) -> bool:
        found = False
        for candidate in digests:
            found |= hmac.compare_digest(digest, candidate)
        return found

    def capability(self, presented: str | None) -> Capability:
        """The capability of a presented key; 401 when missing or unknown."""
        if not presented:
            raise ApiError(401, "missing_api_key", "Send your key in the X-API-Key header.")
        digest = _digest(presented)
        is_admin = self._matches(digest, self._admin)
        is_submit = self._matches(digest, self._submit)
        if is_admin:
            return Capability.ADMIN
        if is_submit:
            return Capability.SUBMIT
        raise ApiError(401, "unknown_api_key", "The X-API-Key is not valid.")

    def require(self, presented: str | None, *allowed: Capability) -> Capability:
        capability = self.capability(presented)
        if capability not in allowed:
            raise ApiError(403, "forbidden", "This key may not use this endpoint.")
        return capability
