"""The ingest rules shared by both databases: what a write's outcome means for the client.

SQLite (repository.py, one transaction) and PostgreSQL (postgres_statement.py, one statement) only
differ in the SQL that produces an `Outcome`; `decide` turns it into the answer, in one place.
"""

from dataclasses import dataclass
from typing import Literal

from receiver.errors import ApiError
from receiver.security.ownership import wrong_secret

Stored = Literal["stored", "duplicate"]


@dataclass(frozen=True, slots=True)
class Outcome:
    owner_ok: bool  # no secret registered for the installation, or the presented one matches
    known: bool  # the installation existed before this submission
    counted: bool  # counted in the installation's hourly window (False: window full, or not tried)
    stored: bool  # the submission was written
    replaced: bool  # it replaced an earlier copy of the same period (a re-send)

    @property
    def created(self) -> bool:
        """This submission registered a new installation."""
        return self.stored and not self.known


def rate_limited(limit: int, retry_after: int) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        f"This installation already sent {limit} submissions this hour; retry later.",
        headers={"Retry-After": str(max(retry_after, 1))},
    )


def decide(
    outcome: Outcome, *, may_create: bool, new_id_refused: ApiError, limited: ApiError
) -> Stored:
    """ "stored" / "duplicate", or the refusal (raised): wrong secret 403, a new installation over the
    address's daily cap 429, the installation's hourly limit 429."""
    if not outcome.owner_ok:
        raise wrong_secret()
    if not outcome.known and not may_create:
        raise new_id_refused
    if not outcome.counted:
        raise limited
    if not outcome.stored:  # another secret claimed this installation a moment ago
        raise wrong_secret()
    return "duplicate" if outcome.replaced else "stored"
