"""The bad-input catalogue: every kind gets its 4xx with a clear message; nothing is stored."""

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.payloads import load_payloads
from tests.receiver.conftest import SUBMIT_KEY, Api, assert_error, count

GOOD = load_payloads("valid")["printernizer-1.0-example"]
GOOD_11 = load_payloads("valid")["integration-1.1-farm"]


def variant(change: Callable[[dict[str, Any]], None], base: dict[str, Any] = GOOD) -> bytes:
    payload = json.loads(json.dumps(base))
    change(payload)
    return json.dumps(payload).encode()


def setter(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    *parents, leaf = path.split(".")

    def change(payload: dict[str, Any]) -> None:
        target = payload
        for part in parents:
            target = target[part]
        target[leaf] = value

    return change


def remover(path: str) -> Callable[[dict[str, Any]], None]:
    *parents, leaf = path.split(".")

    def change(payload: dict[str, Any]) -> None:
        target = payload
        for part in parents:
            target = target[part]
        del target[leaf]

    return change


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    status: int
    code: str
    headers: dict[str, str] = field(default_factory=dict)
    key: str | None = SUBMIT_KEY


def gzip_bomb() -> bytes:
    # 50 MB of zeros compress to ~50 KB: under the wire cap, far over the cap after decompression.
    return gzip.compress(b" " * (50 * 1024 * 1024), compresslevel=9)


GZIP = {"Content-Encoding": "gzip"}
CASES = [
    Case("truncated JSON", json.dumps(GOOD).encode()[:-20], 400, "malformed_json"),
    Case("not JSON at all", b"hello world", 400, "malformed_json"),
    Case("empty body", b"", 400, "malformed_json"),
    Case("JSON array instead of object", b"[1, 2, 3]", 400, "invalid_payload"),
    Case("JSON null", b"null", 400, "invalid_payload"),
    Case("count as string", variant(setter("usage_stats.job_count", "41")), 400, "invalid_payload"),
    Case("count as float", variant(setter("usage_stats.job_count", 4.5)), 400, "invalid_payload"),
    Case("count as bool", variant(setter("usage_stats.job_count", True)), 400, "invalid_payload"),
    Case(
        "negative count", variant(setter("printer_fleet.printer_count", -1)), 400, "invalid_payload"
    ),
    Case("huge number", variant(setter("usage_stats.job_count", 10**40)), 400, "invalid_payload"),
    Case("huge float", b'{"schema_version": "1.1", "x": 1e999}', 400, "invalid_payload"),
    Case(
        "hours out of range",
        variant(setter("usage_stats.print_hours", 1e9), GOOD_11),
        400,
        "invalid_payload",
    ),
    Case(
        "100k-key object",
        variant(setter("error_summary", {f"k{i}": 1 for i in range(100_000)})),
        413,
        "body_too_large",
    ),
    Case(
        "65-key object",
        variant(setter("error_summary", {f"k{i}": 1 for i in range(65)})),
        400,
        "invalid_payload",
    ),
    Case(
        "list too long",
        variant(setter("printer_fleet.printer_types", ["a"] * 65)),
        400,
        "invalid_payload",
    ),
    Case("10 MB body", b"{" + b" " * (10 * 1024 * 1024) + b"}", 413, "body_too_large"),
    Case("gzip bomb", gzip_bomb(), 413, "body_too_large", GZIP),
    Case("broken gzip", b"\x1f\x8b\x08\x00garbage", 400, "malformed_gzip", GZIP),
    Case("gzip header on plain JSON", json.dumps(GOOD).encode(), 400, "malformed_gzip", GZIP),
    Case(
        "unsupported encoding",
        json.dumps(GOOD).encode(),
        415,
        "unsupported_content_encoding",
        {"Content-Encoding": "br"},
    ),
    Case(
        "deep nesting",
        b'{"schema_version": "1.0", "x": ' + b"[" * 20000 + b"]" * 20000 + b"}",
        400,
        "invalid_payload",
    ),
    Case(
        "deep nesting in a known field",
        variant(setter("error_summary", {"a": {"b": {"c": {}}}})),
        400,
        "invalid_payload",
    ),
    Case(
        "control characters",
        variant(setter("installation.app_version", "2.0\u0007\n")),
        400,
        "invalid_payload",
    ),
    Case(
        "SQL-looking string",
        variant(setter("installation.platform", "linux'; DROP TABLE submissions;--")),
        400,
        "invalid_payload",
    ),
    Case(
        "string too long",
        variant(setter("installation.app_version", "1" * 65)),
        400,
        "invalid_payload",
    ),
    Case(
        "non-ASCII string",
        variant(setter("installation.platform", "lïnux")),
        400,
        "invalid_payload",
    ),
    Case(
        "invalid UTF-8",
        json.dumps(GOOD).encode().replace(b"linux", b"lin\xffx"),
        400,
        "malformed_json",
    ),
    Case(
        "installation id not a UUID",
        variant(setter("installation.installation_id", "1234")),
        400,
        "invalid_payload",
    ),
    Case("missing installation", variant(remover("installation")), 400, "invalid_payload"),
    Case("missing period end", variant(remover("period.end")), 400, "invalid_payload"),
    Case(
        "wrong key type in object",
        b'{"schema_version": "1.0", "error_summary": {"1": "x"}}',
        400,
        "invalid_payload",
    ),
    Case(
        "country not ISO 3166",
        variant(setter("installation.country_code", "QQ")),
        400,
        "invalid_payload",
    ),
    Case(
        "country lower case",
        variant(setter("installation.country_code", "de")),
        400,
        "invalid_payload",
    ),
    Case(
        "period end before start",
        variant(setter("period.end", "2026-11-01T00:00:00Z")),
        400,
        "invalid_payload",
    ),
    Case(
        "period too long",
        variant(setter("period.start", "2026-09-01T00:00:00Z")),
        400,
        "invalid_payload",
    ),
    Case(
        "period in the future",
        variant(setter("period.end", "2099-01-05T00:00:00Z")),
        400,
        "invalid_payload",
    ),
    Case(
        "datetime garbage", variant(setter("period.start", "last monday")), 400, "invalid_payload"
    ),
    Case(
        "unknown major version",
        variant(setter("schema_version", "2.0")),
        400,
        "unsupported_schema_version",
    ),
    Case("version not a string", variant(setter("schema_version", 1.0)), 400, "invalid_payload"),
    Case(
        "wrong content type",
        json.dumps(GOOD).encode(),
        415,
        "unsupported_media_type",
        {"Content-Type": "text/plain"},
    ),
    Case(
        "form content type",
        b"a=b",
        415,
        "unsupported_media_type",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case("missing key", json.dumps(GOOD).encode(), 401, "missing_api_key", key=None),
    Case("wrong key", json.dumps(GOOD).encode(), 401, "unknown_api_key", key="x" * 40),
    Case(
        "admin key cannot submit",
        json.dumps(GOOD).encode(),
        403,
        "forbidden",
        key="test-admin-key-0123456789abcdefgh",
    ),
    Case(
        "short installation secret",
        json.dumps(GOOD).encode(),
        400,
        "invalid_installation_secret",
        {"X-Installation-Secret": "short"},
    ),
]


async def test_bad_input_catalogue(api: Api, database_url: str) -> None:
    assert len(CASES) >= 25
    for case in CASES:
        response = api.submit(case.body, key=case.key, headers=case.headers)
        assert response.status_code == case.status, f"{case.name}: {response.text}"
        error = assert_error(response, case.status, case.code)
        assert len(error["message"]) > 10, case.name
        assert api.http.get(f"{api.url}/health").status_code == 200, case.name
    assert await count(database_url, "submissions") == 0
    assert await count(database_url, "installations") == 0
    assert await count(database_url, "rate_limits") == 0
    assert api.submit(GOOD).status_code == 200
    assert await count(database_url, "submissions") == 1
