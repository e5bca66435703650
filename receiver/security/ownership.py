"""Installation ownership: 1.1 clients send a secret only they know; the receiver keeps its hash."""

import hashlib

from receiver.errors import ApiError

SECRET_HEADER = "x-installation-secret"  # noqa: S105 (a header name)
MIN_SECRET_LENGTH = 32
MAX_SECRET_LENGTH = 128


def secret_hash(secret: str | None) -> str | None:
    """SHA-256 (hex) of the presented secret; None when the client sent none (schema 1.0 clients)."""
    if secret is None or secret == "":
        return None
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH or not secret.isascii():
        raise ApiError(
            400,
            "invalid_installation_secret",
            f"X-Installation-Secret must be {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} ASCII "
            "characters (e.g. 32 random bytes in URL-safe base64).",
        )
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def wrong_secret() -> ApiError:
    return ApiError(
        403,
        "installation_secret_mismatch",
        "This installation is protected by a secret and X-Installation-Secret is missing or wrong.",
    )
