"""When the weekly payloads go out: a per-installation random but stable moment after each week ends."""

import hashlib
from datetime import datetime, timedelta

from .const import SUBMISSION_SPREAD
from .engine.timeutil import WEEK, week_start


def submission_offset(installation_id: str) -> timedelta:
    """A stable offset within `SUBMISSION_SPREAD`, derived from the installation id, so installations
    spread out instead of all hitting the receiver at the same minute."""
    digest = hashlib.sha256(installation_id.encode()).digest()
    seconds = int.from_bytes(digest[:8], "big") % int(SUBMISSION_SPREAD.total_seconds())
    return timedelta(seconds=seconds)


def next_weekly_submission(installation_id: str, now: datetime) -> datetime:
    """The next moment a completed week is due to be sent (strictly after `now`)."""
    due = week_start(now) + submission_offset(installation_id)
    return due if due > now else due + WEEK


def enqueue_horizon(installation_id: str, now: datetime) -> datetime:
    """The moment to pass to `enqueue_completed_weeks`: a week counts as ready once its end plus the
    installation's offset has passed."""
    return now - submission_offset(installation_id)
