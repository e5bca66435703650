"""Constants of the Printernizer Usage integration."""

import os
from datetime import timedelta
from typing import Final

DOMAIN: Final = "printernizer_usage"
TITLE: Final = "Printernizer Usage"

# Config entry data (where to send) and options (what to do).
CONF_RECEIVER_URL: Final = "receiver_url"
CONF_SUBMIT_KEY: Final = "submit_key"
CONF_SHARING_ENABLED: Final = "sharing_enabled"
CONF_RAW_RETENTION_DAYS: Final = "raw_retention_days"
CONF_ROTATE_YEARLY: Final = "rotate_installation_id_yearly"
CONF_PRINTERNIZER_URL: Final = "printernizer_url"
SECTION_ADVANCED: Final = "advanced"

DEFAULT_RECEIVER_URL: Final = "https://usage.printernizer.com"
# The public submit key embedded in every client: it only allows submitting and deleting one's own data.
DEFAULT_SUBMIT_KEY: Final = "pnu-public-submit-key-v1"
DEFAULT_RAW_RETENTION_DAYS: Final = 90
MIN_RAW_RETENTION_DAYS: Final = 7
MAX_RAW_RETENTION_DAYS: Final = 730
PRINTERNIZER_DEFAULT_PORT: Final = 8000

ENV_DEFAULT_RECEIVER_URL: Final = "PRINTERNIZER_USAGE_DEFAULT_RECEIVER_URL"
ENV_DEFAULT_SUBMIT_KEY: Final = "PRINTERNIZER_USAGE_DEFAULT_SUBMIT_KEY"

DATABASE_FILENAME: Final = "printernizer_usage.db"

REFRESH_INTERVAL: Final = timedelta(seconds=60)
HEARTBEAT_INTERVAL: Final = timedelta(minutes=5)
FLEET_POLL_INTERVAL: Final = timedelta(seconds=30)
DELIVERY_CHECK_INTERVAL: Final = timedelta(minutes=15)
# Weekly payloads go out at a stable per-installation offset within this window after the week ends.
SUBMISSION_SPREAD: Final = timedelta(hours=24)
ROTATION_AGE: Final = timedelta(days=365)
# Removing the integration waits at most this long for the receiver to confirm remote deletions.
REMOVAL_DELETION_TIMEOUT: Final = timedelta(seconds=10)

# Engine settings keys owned by the Home Assistant layer (the sharing identities have a table).
SETTING_PRINTER_KEY_SALT: Final = "ha.printer_key_salt"

ISSUE_RECEIVER_REJECTED_KEY: Final = "receiver_rejected_credentials"
ISSUE_RECEIVER_URL_NOT_USED: Final = "receiver_url_not_used"
ISSUE_REMOTE_DELETION_PENDING: Final = "remote_deletion_pending"

BAMBU_EVENT: Final = "bambu_lab_event"


def default_receiver_url() -> str:
    """The receiver used unless the user sets another (scripts/run points it at the local dev receiver)."""
    return os.environ.get(ENV_DEFAULT_RECEIVER_URL) or DEFAULT_RECEIVER_URL


def default_submit_key() -> str:
    """The public submit key used unless the user sets another."""
    return os.environ.get(ENV_DEFAULT_SUBMIT_KEY) or DEFAULT_SUBMIT_KEY
