"""A request head (request line and headers) is bounded in size and time, and its body in time, by the
real server process (receiver/http_protocol.py): a client cannot hold memory with a huge header, or a
connection by sending its head or body slowly or not at all; ordinary bodies and keep-alive use are not
affected."""

import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.payloads import load_payloads
from tests.receiver.conftest import SUBMIT_KEY, server_env
from tests.receiver_server import RunningReceiver, run_receiver

HEAD_TIMEOUT_SECONDS = 1
EXAMPLE = load_payloads("valid")["integration-1.1-farm"]


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningReceiver]:
    workdir = tmp_path_factory.mktemp("head")
    env = server_env(RECEIVER_HEAD_TIMEOUT_SECONDS=str(HEAD_TIMEOUT_SECONDS))
    with run_receiver(f"sqlite+aiosqlite:///{workdir / 'r.db'}", workdir, env) as running:
        yield running


def connect(receiver: RunningReceiver) -> socket.socket:
    address = urlsplit(receiver.url)
    return socket.create_connection((address.hostname, address.port), timeout=10)


def read_answer(connection: socket.socket) -> tuple[int, bytes]:
    """The status and the rest of what the server sent before closing (or 10 s)."""
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                None,
            )
            if length is not None and len(body) >= length:
                break
    except ConnectionResetError, TimeoutError:
        pass
    status = int(received.split(b" ", 2)[1]) if received else 0
    return status, received


def error_code(answer: bytes) -> str:
    body = answer.partition(b"\r\n\r\n")[2]
    code: str = json.loads(body)["error"]["code"]
    return code


def closed(connection: socket.socket) -> bool:
    try:
        return connection.recv(1) == b""
    except ConnectionResetError, TimeoutError:
        return True


def health(receiver: RunningReceiver) -> int:
    with connect(receiver) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        return read_answer(connection)[0]


def test_a_head_larger_than_64_kib_is_refused_with_431_and_closed(
    receiver: RunningReceiver,
) -> None:
    with connect(receiver) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Padding: " + b"a" * 70_000)
        status, answer = read_answer(connection)
        assert status == 431
        assert error_code(answer) == "headers_too_large"
        assert closed(connection)
    # just under the limit is an ordinary request
    with connect(receiver) as connection:
        connection.sendall(
            b"GET /health HTTP/1.1\r\nHost: t\r\nX-Padding: " + b"a" * 60_000 + b"\r\n\r\n"
        )
        assert read_answer(connection)[0] == 200
    assert health(receiver) == 200


def test_a_head_sent_too_slowly_or_not_at_all_gets_408_and_is_closed(
    receiver: RunningReceiver,
) -> None:
    with connect(receiver) as connection:
        started = time.monotonic()
        try:
            for byte in b"GET /health HTTP/1.1\r\nHost: t\r\n":
                connection.sendall(bytes([byte]))
                time.sleep(0.1)
        except OSError:  # the server closed the connection meanwhile
            pass
        status, answer = read_answer(connection)
        assert status == 408
        assert error_code(answer) == "request_timeout"
        assert time.monotonic() - started < HEAD_TIMEOUT_SECONDS + 2
    with connect(receiver) as silent:
        status, answer = read_answer(silent)
        assert status == 408
        assert closed(silent)
    assert health(receiver) == 200


def test_a_body_that_does_not_arrive_in_time_gets_408_and_is_closed(
    receiver: RunningReceiver,
) -> None:
    with connect(receiver) as connection:
        started = time.monotonic()
        connection.sendall(
            b"POST /submit HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"X-API-Key: " + SUBMIT_KEY.encode() + b"\r\nContent-Length: 1000\r\n\r\n{"
        )
        status, answer = read_answer(connection)
        assert status == 408
        assert error_code(answer) == "request_timeout"
        assert time.monotonic() - started < HEAD_TIMEOUT_SECONDS + 2
        assert closed(connection)
    assert health(receiver) == 200


def test_bodies_and_keep_alive_are_not_affected(receiver: RunningReceiver) -> None:
    """A body at the body cap (64 KiB) sent with its head is stored; a second request on the same
    connection after a pause shorter than the limit is answered."""
    payload = json.loads(json.dumps(EXAMPLE))
    payload["installation"]["installation_id"] = "2b0f6e9e-7d1c-4c59-9d2e-3f0c3f3a8f51"
    body = json.dumps(payload).encode()
    body += b" " * (65_400 - len(body))
    request = (
        b"POST /submit HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"X-API-Key: " + SUBMIT_KEY.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    )
    with connect(receiver) as connection:
        connection.sendall(request)
        status, answer = read_answer(connection)
        assert status in (200, 201), answer[-300:]
        time.sleep(HEAD_TIMEOUT_SECONDS / 2)
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_answer(connection)[0] == 200
