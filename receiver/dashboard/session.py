"""Dashboard sessions: a signed cookie that proves its holder signed in with an admin key.

The cookie value is `v1.<key id>.<issued>.<expires>.<nonce>.<mac>`:

- `key id` names the admin key used to sign in (a one-way fingerprint of it, never the key);
- `mac` is an HMAC-SHA256 over the rest with a secret derived from that admin key, so every worker
  process (and every receiver behind a load balancer) can check it without shared state, a forged or
  altered cookie fails, and removing the admin key from `RECEIVER_ADMIN_KEYS` ends its sessions;
- the session expires after `SESSION_SECONDS`; sign-out deletes the cookie.

The CSRF token of a session (for sign-out) is another HMAC over the session's nonce. Sign-in is
protected by a random token in a short-lived cookie that the form must repeat (double submit), and
every state-changing request must come from the dashboard's own origin (`Origin`/`Referer`).
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

SESSION_COOKIE = "printernizer_session"
SIGN_IN_COOKIE = "printernizer_sign_in"
COOKIE_PATH = "/dashboard"
SESSION_SECONDS = 12 * 3600
SIGN_IN_SECONDS = 3600
_VERSION = "v1"
_SESSION_CONTEXT = b"printernizer-usage dashboard session v1"


@dataclass(frozen=True, slots=True)
class Session:
    admin_key: str  # the configured admin key it was signed in with (stays on the server)
    issued: int
    expires: int
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def key_id(admin_key: str) -> str:
    """A short one-way fingerprint of an admin key (names the key in the cookie)."""
    return hashlib.sha256(b"key-id:" + admin_key.encode("utf-8", "surrogateescape")).hexdigest()[
        :16
    ]


def _secret(admin_key: str) -> bytes:
    return hmac.new(
        admin_key.encode("utf-8", "surrogateescape"), _SESSION_CONTEXT, hashlib.sha256
    ).digest()


def _mac(admin_key: str, message: str) -> str:
    return _b64(hmac.new(_secret(admin_key), message.encode("ascii"), hashlib.sha256).digest())


def issue(admin_key: str, now: int, lifetime: int = SESSION_SECONDS) -> str:
    """A new session cookie value for someone who just presented `admin_key`."""
    body = f"{_VERSION}.{key_id(admin_key)}.{now}.{now + lifetime}.{_b64(secrets.token_bytes(16))}"
    return f"{body}.{_mac(admin_key, body)}"


def verify(value: str | None, admin_keys: Sequence[str], now: int) -> Session | None:
    """The session a cookie value proves, or None (absent, malformed, forged, expired, key removed)."""
    if not value or len(value) > 256 or not value.isascii():
        return None
    parts = value.split(".")
    if len(parts) != 6 or parts[0] != _VERSION:
        return None
    _, kid, issued_text, expires_text, nonce, mac = parts
    if not (issued_text.isdigit() and expires_text.isdigit()):
        return None
    issued, expires = int(issued_text), int(expires_text)
    body = value.rsplit(".", 1)[0]
    for admin_key in admin_keys:
        # Every configured key is tried in full (constant time per key), whichever matches.
        kid_matches = hmac.compare_digest(key_id(admin_key), kid)
        mac_matches = hmac.compare_digest(_mac(admin_key, body), mac)
        if kid_matches and mac_matches:
            if not issued <= now < expires:
                return None
            return Session(admin_key=admin_key, issued=issued, expires=expires, nonce=nonce)
    return None


def csrf_token(session: Session) -> str:
    """The token a signed-in page sends back with state-changing requests (bound to the session)."""
    return _mac(session.admin_key, f"csrf.{session.nonce}")


def csrf_matches(session: Session, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_token(session), presented)


def new_sign_in_token() -> str:
    return _b64(secrets.token_bytes(24))


def sign_in_token_matches(cookie: str | None, form: str | None) -> bool:
    """Double submit: the sign-in form repeats the random value of the sign-in cookie."""
    if not cookie or not form or len(cookie) < 16:
        return False
    return hmac.compare_digest(cookie.encode("utf-8", "replace"), form.encode("utf-8", "replace"))


def same_origin(origin: str | None, referer: str | None, host: str | None) -> bool:
    """True when a state-changing request comes from a page of this host.

    Browsers send `Origin` with every POST; `Referer` is the fallback. The scheme is not compared: the
    receiver usually runs behind a TLS reverse proxy and sees plain HTTP itself.
    """
    if not host:
        return False
    source = origin if origin else referer
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    if parts.scheme not in ("http", "https"):
        return False
    return parts.netloc.lower() == host.lower()
