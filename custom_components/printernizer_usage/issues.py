"""The repair issues: what the user is asked to act on. Receivers are named by their host only."""

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import (
    DOMAIN,
    ISSUE_RECEIVER_REJECTED_KEY,
    ISSUE_RECEIVER_URL_NOT_USED,
    ISSUE_REMOTE_DELETION_PENDING,
)
from .engine.receiver_url import UrlProblem


@callback
def async_credentials_refused(hass: HomeAssistant, status: int, receiver_host: str) -> None:
    """401/403: delivery is paused until the user changes the key or the identity."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_RECEIVER_REJECTED_KEY,
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_RECEIVER_REJECTED_KEY,
        translation_placeholders={"status": str(status), "receiver_host": receiver_host},
    )


@callback
def async_credentials_accepted(hass: HomeAssistant) -> None:
    """The receiver accepts again (or the credentials changed)."""
    ir.async_delete_issue(hass, DOMAIN, ISSUE_RECEIVER_REJECTED_KEY)


@callback
def async_receiver_url_not_used(
    hass: HomeAssistant, problem: UrlProblem | None, receiver_host: str
) -> None:
    """The configured receiver URL breaks the rules (set up by an older version): nothing is sent
    until the user changes it (Reconfigure). None: the URL is fine, the issue goes."""
    if problem is None:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_RECEIVER_URL_NOT_USED)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_RECEIVER_URL_NOT_USED,
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=f"{ISSUE_RECEIVER_URL_NOT_USED}_{problem.value}",
        translation_placeholders={"receiver_host": receiver_host},
    )


@callback
def async_remote_deletions_pending(hass: HomeAssistant, receiver_hosts: list[str]) -> None:
    """Deletions left by a removal that the receiver has not confirmed yet (an empty list: none).
    Persistent: it is shown after a restart too, until the deletions are confirmed."""
    if not receiver_hosts:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_REMOTE_DELETION_PENDING)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_REMOTE_DELETION_PENDING,
        is_fixable=False,
        is_persistent=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_REMOTE_DELETION_PENDING,
        translation_placeholders={
            "count": str(len(receiver_hosts)),
            "receivers": ", ".join(sorted(set(receiver_hosts))),
        },
    )
