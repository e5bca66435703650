"""Outbox delivery to the receiver: gzip, headers, backoff with full jitter, Retry-After, give-up rules,
remote deletion. Reports outcomes; logs only when a receiver's reachability changes, never per attempt.

Rules that protect the installation's data and secret:
- only receiver URLs that `receiver_url.receiver_url_problem` accepts are contacted (HTTPS, or HTTP to a
  loopback host; no credentials in the URL);
- redirects are never followed (aiohttp would follow them by default and forward
  `X-Installation-Secret` to wherever they point): a 3xx is "not delivered" / "not deleted";
- a week counts as delivered, and a deletion as done, only on the receiver's own success answer
  (200 with its JSON body), never on another status such as 404 from a proxy or another server;
- logs name the receiver by its host only.
"""

import gzip
import json
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import yarl

from .httputil import read_capped
from .outbox import Outbox
from .receiver_url import receiver_host, receiver_url_problem

_LOGGER = logging.getLogger(__name__)

BASE_DELAY_SECONDS = 60.0
MAX_DELAY_SECONDS = 86_400.0
REQUEST_TIMEOUT_SECONDS = 30.0
# After a 401/403 delivery pauses: the same payload is tried again only after this long (or at once
# when the user changes the credentials), never with the fast backoff of transient failures.
CREDENTIALS_RECHECK_SECONDS = 86_400.0
# The longest any payload waits (backoff, Retry-After, credentials pause): after the clock went back,
# longer waits are shortened to this.
LONGEST_WAIT = timedelta(seconds=max(MAX_DELAY_SECONDS, CREDENTIALS_RECHECK_SECONDS))
RESPONSE_MAX_BYTES = 16_384  # the receiver's answers are tiny; nothing more is read
RESPONSE_MAX_CHARS = 2000
AUTH_STATUSES = frozenset({401, 403})


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """The outcome of one `deliver_due` round."""

    sent: int = 0
    rejected: int = 0  # given up (4xx other than 401/403/408/429)
    retry_at: datetime | None = None  # when the oldest pending item is tried again (None: none)
    reachable: bool | None = None  # None: nothing was attempted (or only rate limited)
    auth_failed_status: int | None = None  # 401 or 403: the HA layer pauses and raises an issue
    pending: int = 0
    error: str | None = None  # the last failure ("503: ...", "ClientConnectorError: ...")


@dataclass(frozen=True, slots=True)
class DeletionResult:
    """The outcome of a remote deletion request; `confirmed` only on the receiver's success answer."""

    confirmed: bool
    status_code: int | None = None
    error: str | None = None


class ReceiverHealth:
    """Whether one receiver works, across every id that talks to it: one warning when it stops
    answering (an outage), one info line when it is back. A rate limit (429) is part of whatever
    state the receiver is in: it neither starts nor ends an outage."""

    def __init__(self, receiver_url: str) -> None:
        self.host = receiver_host(receiver_url)
        self.reachable: bool | None = None  # None: not tried yet

    def note(self, reached: bool | None) -> None:
        """Record the outcome of one request (None: says nothing about reachability)."""
        if reached is None or reached == self.reachable:
            return
        if not reached:
            _LOGGER.warning(
                "The usage receiver at %s is unreachable; will retry with backoff", self.host
            )
        elif self.reachable is False:
            _LOGGER.info("The usage receiver at %s is reachable again", self.host)
        self.reachable = reached


class Uploader:
    """Delivers one installation id's outbox to its receiver and asks for its deletion. Keep one
    instance per id and receiver configuration; share one `ReceiverHealth` per receiver."""

    def __init__(  # noqa: PLR0917 - the documented signature (docs/architecture.md)
        self,
        session: aiohttp.ClientSession,
        outbox: Outbox,
        receiver_url: str,
        submit_key: str,
        installation_id: str,
        installation_secret: str,
        *,
        health: ReceiverHealth | None = None,
        rng: random.Random | None = None,
        base_delay: float = BASE_DELAY_SECONDS,
        max_delay: float = MAX_DELAY_SECONDS,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
        credentials_recheck: float = CREDENTIALS_RECHECK_SECONDS,
    ) -> None:
        self._client = _ReceiverClient(session, receiver_url, submit_key, timeout)
        self._outbox = outbox
        self._installation_id = installation_id
        self._secret = installation_secret
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._credentials_recheck = timedelta(seconds=credentials_recheck)
        self.health = health or ReceiverHealth(receiver_url)

    async def deliver_due(self, now: datetime) -> DeliveryReport:
        """Send the due payloads oldest first until one fails transiently (it waits with backoff;
        later ones wait behind it) or the receiver refuses the credentials (it stays pending and
        delivery pauses for `credentials_recheck`)."""
        if (problem := self._client.problem) is not None:
            return DeliveryReport(
                pending=await self._outbox.pending_count(self._installation_id),
                error=f"receiver URL not used: {problem.value}",
            )
        sent = rejected = 0
        auth_failed: int | None = None
        reachable: bool | None = None
        error: str | None = None
        while (item := await self._outbox.due_item(self._installation_id, now)) is not None:
            body = gzip.compress(json.dumps(item.payload, separators=(",", ":")).encode())
            answer = await self._client.request("POST", "/submit", self._secret, body)
            if answer.reached is not None:
                reachable = answer.reached
            if answer.status == 200 and _is_stored(answer.text):
                await self._outbox.mark_sent(item, answer.status, answer.text, now)
                sent += 1
            elif answer.status in AUTH_STATUSES:
                await self._outbox.hold(
                    item, now + self._credentials_recheck, answer.status, answer.text, now
                )
                auth_failed = answer.status
                error = answer.error
                break
            elif answer.status is not None and _is_final_refusal(answer.status):
                await self._outbox.mark_rejected(item, answer.status, answer.text, now)
                rejected += 1
                error = answer.error
            else:
                # No answer, a redirect, 408/429, 5xx, or a 2xx that is not the receiver's: the
                # receiver may or may not have stored it; it is sent again (the receiver replaces
                # a period it already has, so nothing is stored twice).
                delay = self._backoff(item.attempts, answer.retry_after)
                error = answer.error
                await self._outbox.retry_later(
                    item, now + timedelta(seconds=delay), error, answer.status, now
                )
                break
        self.health.note(reachable)
        return DeliveryReport(
            sent=sent,
            rejected=rejected,
            retry_at=await self._outbox.next_attempt_at(self._installation_id),
            reachable=reachable,
            auth_failed_status=auth_failed,
            error=error,
            pending=await self._outbox.pending_count(self._installation_id),
        )

    async def request_remote_deletion(self, now: datetime) -> DeletionResult:
        """Ask the receiver to erase everything of this installation id (audited). Confirmed only by
        the receiver's success answer; otherwise the caller keeps the deletion and asks again."""
        result, answer = await _delete(self._client, self._installation_id, self._secret)
        if answer is not None:
            await self._outbox.audit(
                "delete", self._installation_id, answer.status, answer.text, now
            )
            self.health.note(answer.reached)
        return result

    def _backoff(self, attempts: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter, at least `Retry-After`, at most `max_delay`."""
        ceiling = min(self._max_delay, self._base_delay * 2 ** min(attempts, 32))
        delay = self._rng.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self._max_delay)


async def request_deletion(
    session: aiohttp.ClientSession,
    receiver_url: str,
    submit_key: str,
    installation_id: str,
    installation_secret: str,
    *,
    request_timeout: float = REQUEST_TIMEOUT_SECONDS,
    health: ReceiverHealth | None = None,
) -> DeletionResult:
    """One deletion request without an outbox to audit it in (the integration was removed)."""
    client = _ReceiverClient(session, receiver_url, submit_key, request_timeout)
    result, answer = await _delete(client, installation_id, installation_secret)
    if health is not None and answer is not None:
        health.note(answer.reached)
    return result


async def _delete(
    client: _ReceiverClient, installation_id: str, secret: str
) -> tuple[DeletionResult, _Answer | None]:
    if (problem := client.problem) is not None:
        return DeletionResult(False, None, f"receiver URL not used: {problem.value}"), None
    answer = await client.request("DELETE", f"/installation/{installation_id}", secret, None)
    confirmed = answer.status == 200 and _confirms_deletion(answer.text, installation_id)
    return (
        DeletionResult(
            confirmed=confirmed,
            status_code=answer.status,
            error=None if confirmed else answer.error,
        ),
        answer,
    )


class _ReceiverClient:
    """The HTTP side: one receiver, its submit key; never follows redirects, reads little."""

    def __init__(
        self, session: aiohttp.ClientSession, receiver_url: str, submit_key: str, timeout: float
    ) -> None:
        self._session = session
        self._url = receiver_url.strip().rstrip("/")
        self._submit_key = submit_key
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._host = receiver_host(self._url)
        self.problem = receiver_url_problem(self._url)

    async def request(self, method: str, path: str, secret: str, body: bytes | None) -> _Answer:
        headers = {"X-API-Key": self._submit_key, "X-Installation-Secret": secret}
        if body is not None:
            headers |= {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        try:
            async with self._session.request(
                method,
                f"{self._url}{path}",
                data=body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                if 300 <= response.status < 400:
                    return _Answer(response.status, "redirect not followed")
                raw = await read_capped(response, RESPONSE_MAX_BYTES)
                return _Answer(
                    status=response.status,
                    text=raw.decode(errors="replace")[:RESPONSE_MAX_CHARS],
                    retry_after=_retry_after(response.headers.get("Retry-After")),
                )
        except (aiohttp.ClientError, TimeoutError) as error:
            text = f"{type(error).__name__}: {error}"
            # Some client errors quote the URL: name the receiver by its host only.
            for url in {self._url, str(yarl.URL(self._url))}:
                text = text.replace(url, self._host)
            return _Answer(None, text[:RESPONSE_MAX_CHARS])


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
    def reached(self) -> bool | None:
        """Whether the receiver answered as a working service: no answer, a redirect, 408 and 5xx
        count as unreachable; 429 says nothing either way."""
        if self.status == 429:
            return None
        if self.status is None:
            return False
        return self.status < 300 or (400 <= self.status < 500 and self.status != 408)


def _is_final_refusal(status: int) -> bool:
    return 400 <= status < 500 and status not in {408, 429}


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _is_stored(text: str) -> bool:
    """The receiver's answer to a stored submission: `{"status": "stored"}`."""
    answer = _json_object(text)
    return answer is not None and answer.get("status") == "stored"


def _confirms_deletion(text: str, installation_id: str) -> bool:
    """The receiver's answer to an erasure: `{"installation_id": <this id>, "deleted_submissions": n}`."""
    answer = _json_object(text)
    return (
        answer is not None
        and str(answer.get("installation_id", "")).lower() == installation_id.lower()
        and isinstance(answer.get("deleted_submissions"), int)
    )


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
