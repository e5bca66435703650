"""Which receiver URLs may be used, and how a receiver is named in logs and diagnostics.

HTTPS only: the submit key and the installation secret travel in headers. Plain HTTP is allowed for
loopback hosts only (a receiver on the same machine, for development). A URL carrying a user name or
password is refused: credentials in the URL would be stored, shown and sent with every request.
Everywhere else (logs, repair issues, diagnostics, the export) a receiver is named by its host only: a
path may carry a token the user would not want in a bug report.
"""

import ipaddress
from enum import StrEnum

import yarl


class UrlProblem(StrEnum):
    """Why a receiver URL is not used (the value is the config flow's error key)."""

    INVALID = "invalid_receiver_url"
    INSECURE = "insecure_receiver_url"
    CREDENTIALS = "receiver_url_with_credentials"


def is_loopback_host(host: str) -> bool:
    """`localhost` (and `*.localhost`), 127.0.0.0/8 or ::1."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def receiver_url_problem(url: str) -> UrlProblem | None:
    """None when `url` may be used as a receiver; else why not."""
    try:
        parsed = yarl.URL(url.strip())
    except ValueError:
        return UrlProblem.INVALID
    if (
        parsed.scheme not in {"http", "https"}
        or not parsed.host
        or parsed.query_string
        or parsed.fragment
    ):
        return UrlProblem.INVALID
    if parsed.user is not None or parsed.password is not None:
        return UrlProblem.CREDENTIALS
    if parsed.scheme == "http" and not is_loopback_host(parsed.host):
        return UrlProblem.INSECURE
    return None


def receiver_host(url: str) -> str:
    """The receiver's host name (no scheme, user, port, path or query): how it is named in logs,
    repair issues, diagnostics and the export."""
    try:
        host = yarl.URL(url.strip()).host
    except ValueError:
        host = None
    return host or "invalid address"
