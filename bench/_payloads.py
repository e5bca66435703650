"""Pre-built HTTP/1.1 requests: valid, gzipped 1.1 payloads, each from a new installation."""

import gzip
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "tests/fixtures/payloads/valid/integration-1.1-farm.json"
_ID_PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def last_completed_week(now: datetime) -> tuple[datetime, datetime]:
    """Monday 00:00 UTC to the next Monday of the last ISO week that has ended."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(days=7), this_monday


def template_payload(now: datetime) -> dict[str, Any]:
    """The integration's example payload for the last completed week."""
    payload: dict[str, Any] = json.loads(TEMPLATE_PATH.read_text())
    start, end = last_completed_week(now)
    payload["submission_timestamp"] = _iso(now)
    payload["installation"]["first_seen"] = _iso(start - timedelta(days=30))
    payload["period"] = {"start": _iso(start), "end": _iso(end), "duration_days": 7}
    return payload


def payload_json_template(now: datetime) -> str:
    payload = template_payload(now)
    payload["installation"]["installation_id"] = _ID_PLACEHOLDER
    return json.dumps(payload, separators=(",", ":"))


def forwarded_for(index: int) -> str:
    """A client address as a trusted proxy would report it: 4096 IPv4 and 4096 IPv6 /64 clients."""
    if index % 2:
        return f"2001:db8:{index % 4096:x}:1::{index % 7 + 1:x}"
    return f"198.51.{index // 256 % 16}.{index % 256}"


def build_submit_requests(
    count: int, host: str, submit_key: str, *, behind_proxy: bool = False
) -> list[bytes]:
    """`count` complete POST /submit requests, each for a distinct installation with its own secret
    (`behind_proxy`: each with an X-Forwarded-For client address, as from a TLS proxy)."""
    template = payload_json_template(datetime.now(UTC))
    head = (
        f"POST /submit HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
        f"X-API-Key: {submit_key}\r\n"
    )
    requests = []
    for index in range(count):
        body = gzip.compress(
            template.replace(_ID_PLACEHOLDER, str(uuid.uuid4())).encode(), compresslevel=6, mtime=0
        )
        proxy = f"X-Forwarded-For: {forwarded_for(index)}\r\n" if behind_proxy else ""
        headers = (
            f"{head}{proxy}X-Installation-Secret: {secrets.token_urlsafe(32)}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        requests.append(headers.encode() + body)
    return requests


def build_get_request(path: str, host: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
