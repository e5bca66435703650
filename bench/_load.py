"""Low-overhead HTTP/1.1 load generator: keep-alive connections over raw asyncio streams."""

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

Target = tuple[str, int]


@dataclass
class LoadResult:
    concurrency: int
    elapsed_s: float = 0.0
    sent: int = 0
    status_counts: Counter[int] = field(default_factory=Counter)
    timeouts: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    requests_exhausted: bool = False

    @property
    def ok(self) -> int:
        return sum(count for status, count in self.status_counts.items() if 200 <= status < 300)

    def note_error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text)


class _ResponseError(Exception):
    pass


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return its status and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split(b" ", 2)[1])
    except (IndexError, ValueError) as exc:
        raise _ResponseError(f"bad status line {lines[0]!r}") from exc
    length = 0
    chunked = False
    keep_alive = True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            keep_alive = False
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, keep_alive


class _Run:
    def __init__(
        self, requests: Sequence[bytes], deadline: float, timeout_s: float, result: LoadResult
    ) -> None:
        self.requests = requests
        self.next_index = 0
        self.deadline = deadline
        self.timeout_s = timeout_s
        self.result = result

    def take(self) -> bytes | None:
        if time.perf_counter() >= self.deadline:
            return None
        if self.next_index >= len(self.requests):
            self.result.requests_exhausted = True
            return None
        request = self.requests[self.next_index]
        self.next_index += 1
        return request


async def _open(target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(target[0], target[1])


async def _client(
    run: _Run,
    target: Target,
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None,
    start: asyncio.Event,
) -> None:
    result = run.result
    await start.wait()
    while (request := run.take()) is not None:
        try:
            if connection is None:
                connection = await _open(target)
            reader, writer = connection
            began = time.perf_counter()
            result.sent += 1
            async with asyncio.timeout(run.timeout_s):
                writer.write(request)
                status, keep_alive = await _read_response(reader)
            result.latencies_s.append(time.perf_counter() - began)
            result.status_counts[status] += 1
            if not keep_alive:
                writer.close()
                connection = None
        except TimeoutError:
            result.timeouts += 1
            _discard(connection)
            connection = None
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            _ResponseError,
        ) as exc:
            result.note_error(f"{type(exc).__name__}: {exc}")
            _discard(connection)
            connection = None
    _discard(connection)


def _discard(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None,
) -> None:
    if connection is not None:
        connection[1].close()


async def run_load(
    targets: Sequence[Target],
    requests: Sequence[bytes],
    concurrency: int,
    duration_s: float,
    timeout_s: float = 10.0,
    prime: bytes | None = None,
) -> LoadResult:
    """Send `requests` in order from `concurrency` connections for `duration_s` seconds.

    Connections are opened before the clock starts; requests in flight at the deadline are awaited.
    `prime`: a request sent on each new connection (answer awaited) before the next is opened.
    Several server worker processes share one listening socket, and connections that all wait in
    its queue at once are usually taken by whichever worker wakes first — one worker then serves
    the whole level (seen: half the throughput at a uniform latency). Answering one request per
    connection as it opens lets each be accepted on its own, so they spread over the workers as a
    steady arrival of clients would.
    """
    result = LoadResult(concurrency=concurrency)
    client_targets = [targets[i % len(targets)] for i in range(concurrency)]
    connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = []
    for target in client_targets:
        try:
            connection = await _open(target)
            if prime is not None:
                connection[1].write(prime)
                await _read_response(connection[0])
            connections.append(connection)
        except (OSError, asyncio.IncompleteReadError, _ResponseError) as exc:
            result.note_error(f"connect: {exc}")
            connections.append(None)
    start = asyncio.Event()
    run = _Run(requests, deadline=float("inf"), timeout_s=timeout_s, result=result)
    tasks = [
        asyncio.create_task(_client(run, target, connection, start))
        for target, connection in zip(client_targets, connections, strict=True)
    ]
    await asyncio.sleep(0)
    began = time.perf_counter()
    run.deadline = began + duration_s
    start.set()
    await asyncio.gather(*tasks)
    result.elapsed_s = time.perf_counter() - began
    return result


def percentile_ms(latencies_s: Sequence[float], fraction: float) -> float | None:
    if not latencies_s:
        return None
    ordered = sorted(latencies_s)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index] * 1000.0
