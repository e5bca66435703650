"""Outbox delivery to the receiver: gzip, headers, backoff with full jitter, Retry-After, give-up rules,
remote deletion. Reports outcomes; logs only when reachability changes, never per attempt."""

import gzip
import json
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import aiohttp

from .engine import UsageEngine

_LOGGER = logging.getLogger(__name__)

BASE_DELAY_SECONDS = 60.0
MAX_DELAY_SECONDS = 86_400.0
REQUEST_TIMEOUT_SECONDS = 30.0
# After a 401/403 delivery pauses: the same payload is tried again only after this long (or at once
# when the user changes the credentials), never with the fast backoff of transient failures.
CREDENTIALS_RECHECK_SECONDS = 86_400.0
RESPONSE_MAX_CHARS = 2000
RETRY_STATUSES = frozenset({408, 429})
AUTH_STATUSES = frozenset({401, 403})


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """The outcome of one `deliver_due` round."""

    sent: int = 0
    rejected: int = 0  # given up (4xx other than 408/429)
    retry_at: datetime | None = (
        None  # when the oldest pending item is tried again (None: nothing waits)
    )
    reachable: bool | None = None  # None: nothing was attempted
    auth_failed_status: int | None = None  # 401 or 403: the HA layer raises a repair issue
    pending: int = 0
    error: str | None = None  # the last failure ("503: ...", "ClientConnectorError: ...")


@dataclass(frozen=True, slots=True)
class DeletionResult:
    """The outcome of a remote deletion request; `confirmed` when the receiver answered 200 or 404."""

    confirmed: bool
    status_code: int | None = None
    error: str | None = None


class Uploader:
    """Delivers one installation's outbox to the receiver. Keep one instance per receiver
    configuration: it remembers reachability so a change is logged once, never per attempt."""

    def __init__(  # noqa: PLR0917 - the documented signature (docs/architecture.md)
        self,
        session: aiohttp.ClientSession,
        engine: UsageEngine,
        receiver_url: str,
        submit_key: str,
        installation_id: str,
        installation_secret: str,
        *,
        rng: random.Random | None = None,
        base_delay: float = BASE_DELAY_SECONDS,
        max_delay: float = MAX_DELAY_SECONDS,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
        credentials_recheck: float = CREDENTIALS_RECHECK_SECONDS,
    ) -> None:
        self._session = session
        self._engine = engine
        self._url = receiver_url.rstrip("/")
        self._installation_id = installation_id
        self._headers = {"X-API-Key": submit_key, "X-Installation-Secret": installation_secret}
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._credentials_recheck = timedelta(seconds=credentials_recheck)
        self.reachable: bool | None = None  # None: not tried yet

    async def deliver_due(self, now: datetime) -> DeliveryReport:
        """Send the due payloads oldest first until one fails transiently (it waits with backoff;
        later ones wait behind it) or the receiver refuses the credentials (it stays pending and
        delivery pauses for `credentials_recheck`)."""
        sent = rejected = 0
        auth_failed: int | None = None
        reachable: bool | None = None
        error: str | None = None
        while (item := await self._engine.due_outbox_item(self._installation_id, now)) is not None:
            body = gzip.compress(json.dumps(item.payload, separators=(",", ":")).encode())
            headers = self._headers | {
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            }
            answer = await self._request("POST", f"{self._url}/submit", body, headers)
            reachable = answer.reached
            if answer.status is not None and 200 <= answer.status < 300:
                await self._engine.mark_sent(item, answer.status, answer.text, now)
                sent += 1
            elif answer.status in AUTH_STATUSES:
                await self._engine.hold_for_credentials(
                    item, now + self._credentials_recheck, answer.status, answer.text, now
                )
                auth_failed = answer.status
                error = answer.error
                break
            elif answer.status is not None and _is_final_refusal(answer.status):
                await self._engine.mark_rejected(item, answer.status, answer.text, now)
                rejected += 1
                error = answer.error
            else:
                delay = self._backoff(item.attempts, answer.retry_after)
                error = answer.error
                await self._engine.schedule_retry(item, now + timedelta(seconds=delay), error)
                break
        if reachable is not None:
            self._note_reachable(reachable)
        return DeliveryReport(
            sent=sent,
            rejected=rejected,
            retry_at=await self._engine.next_attempt_at(self._installation_id),
            reachable=reachable,
            auth_failed_status=auth_failed,
            error=error,
            pending=sum(
                1
                for item in await self._engine.outbox()
                if item.status == "pending" and item.installation_id == self._installation_id
            ),
        )

    async def request_remote_deletion(self, now: datetime | None = None) -> DeletionResult:
        """Ask the receiver to erase everything of this installation; confirmed on 200 or 404 (nothing
        stored). Otherwise the caller keeps a pending-deletion marker and tries again later."""
        answer = await self._request(
            "DELETE", f"{self._url}/installation/{self._installation_id}", None, self._headers
        )
        await self._engine.audit(
            "delete", self._installation_id, answer.status, answer.text, now or datetime.now(UTC)
        )
        self._note_reachable(answer.reached)
        confirmed = answer.status in {200, 404}
        return DeletionResult(
            confirmed=confirmed,
            status_code=answer.status,
            error=None if confirmed else answer.text,
        )

    def _backoff(self, attempts: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter, at least `Retry-After`, at most `max_delay`."""
        ceiling = min(self._max_delay, self._base_delay * 2 ** min(attempts, 32))
        delay = self._rng.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self._max_delay)

    def _note_reachable(self, reachable: bool) -> None:
        if reachable == self.reachable:
            return
        if not reachable:
            _LOGGER.warning(
                "The usage receiver %s is unreachable; will retry with backoff", self._url
            )
        elif self.reachable is False:
            _LOGGER.info("The usage receiver %s is reachable again", self._url)
        self.reachable = reachable

    async def _request(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> _Answer:
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=self._timeout
            ) as response:
                text = await response.text(errors="replace")
                return _Answer(
                    status=response.status,
                    text=text[:RESPONSE_MAX_CHARS],
                    retry_after=_retry_after(response.headers.get("Retry-After")),
                )
        except (aiohttp.ClientError, TimeoutError) as error:
            return _Answer(
                status=None, text=f"{type(error).__name__}: {error}"[:RESPONSE_MAX_CHARS]
            )


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int | None  # None: no answer (network error, timeout)
    text: str
    retry_after: float | None = None

    @property
    def error(self) -> str:
        """The failure as one line: the status and the answer, or the network error."""
        return self.text if self.status is None else f"{self.status}: {self.text}"

    @property
    def reached(self) -> bool:
        """The receiver answered as a working service (a 408 or 5xx counts as unreachable)."""
        return self.status is not None and self.status != 408 and self.status < 500


def _is_final_refusal(status: int) -> bool:
    return 400 <= status < 500 and status not in RETRY_STATUSES


def _retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except TypeError, ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
