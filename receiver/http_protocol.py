"""uvicorn's httptools protocol with a bounded request head.

httptools keeps a header of any size in memory and uvicorn waits for a request head for ever (its
keep-alive timeout only starts after a first response): a client talking to the receiver directly — or
through a proxy that passes large headers — could hold memory and connections that way. Here a request
head (request line and headers) may be at most `RECEIVER_MAX_HEAD_BYTES` and must be complete within
`RECEIVER_HEAD_TIMEOUT_SECONDS` of the connection or of the previous response (config.py), and its body
within as long again after the headers (a dripping body would hold a connection and a task); otherwise
the answer is 431 or 408 in the usual error shape and the connection is closed. The body's size has its
own cap (ingest/body.py).
"""

import asyncio
import functools
import os
from typing import Any

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from receiver.errors import ErrorAnswer, ErrorDetail

# `serve` puts the settings (config.py: environment or .env) into the environment before uvicorn starts
# its workers; read at the first connection of each worker.
MAX_HEAD_VARIABLE = "RECEIVER_MAX_HEAD_BYTES"
HEAD_TIMEOUT_VARIABLE = "RECEIVER_HEAD_TIMEOUT_SECONDS"


@functools.cache
def head_limits() -> tuple[int, int]:
    """(bytes, seconds) for a request's line and headers."""
    return int(os.environ[MAX_HEAD_VARIABLE]), int(os.environ[HEAD_TIMEOUT_VARIABLE])


_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


def refusal(status: int, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 answer that closes the connection."""
    body = msgspec.json.encode(ErrorAnswer(ErrorDetail(status, code, message)))
    head = (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"connection: close\r\n\r\n" % (status, _REASONS[status], len(body))
    )
    return head + body


class BoundedHeadProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # between a message's first byte (or the connection) and its headers
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._max_head_bytes, self._head_timeout_seconds = head_limits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # counted after parsing: a chunk that completes the head (and may carry the whole body)
        # is not counted; a chunk is at most the event loop's read size
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self._max_head_bytes:
                self._refuse(
                    431,
                    "headers_too_large",
                    f"The request line and headers are larger than {self._max_head_bytes} bytes.",
                )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._stop_head_timer()
        super().on_headers_complete()
        # the body gets the same time from here (GET: the message completes in the same step)
        self._head_timer = self.loop.call_later(self._head_timeout_seconds, self._body_too_slow)

    def on_message_complete(self) -> None:
        self._stop_head_timer()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.pipeline and not self.transport.is_closing():
            self._start_head_timer()  # the next head, if one comes before keep-alive ends

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(self._head_timeout_seconds, self._head_too_slow)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        """A head begun and not complete, or a new connection that sent nothing: 408. (An idle
        keep-alive connection is left to uvicorn's keep-alive timeout.)"""
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self._refuse(
                408,
                "request_timeout",
                f"The request line and headers did not arrive within {self._head_timeout_seconds} s.",
            )

    def _body_too_slow(self) -> None:
        """The body did not arrive in time: 408 unless the app has begun answering; closing makes
        the app's next `receive()` a disconnect, so its task ends too."""
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()
            return
        self._refuse(
            408,
            "request_timeout",
            f"The body did not arrive within {self._head_timeout_seconds} s of the headers.",
        )

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._stop_head_timer()
        self.transport.write(refusal(status, code, message))
        self.transport.close()
