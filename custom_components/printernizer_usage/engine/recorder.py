"""The write buffer: `record` appends to a deque on the event loop; a background task writes batches."""

import asyncio
import contextlib
import logging
from collections import deque

from .job_tracker import JobState
from .models import FleetSnapshot, UsageEvent
from .store import Store

_LOGGER = logging.getLogger(__name__)

# Open print/online intervals are credited at least this often even without new events.
CHECKPOINT_SECONDS = 60.0


class Recorder:
    """Buffers events and fleet snapshots; writes them every `flush_interval` seconds, or as soon as
    `batch_size` events wait."""

    def __init__(self, store: Store, *, flush_interval: float = 2.0, batch_size: int = 500) -> None:
        self._store = store
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._buffer: deque[UsageEvent] = deque()
        self._fleet: tuple[FleetSnapshot, float] | None = None
        self._jobs: dict[str, JobState] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()
        self._since_checkpoint = 0.0

    def record(self, event: UsageEvent) -> None:
        """O(1): append; wake the writer only when a full batch waits."""
        self._buffer.append(event)
        if len(self._buffer) >= self._batch_size:
            self._wake.set()

    def update_fleet(self, fleet: FleetSnapshot, at: float) -> None:
        """Remember the fleet as known at `at` (epoch seconds)."""
        self._fleet = (fleet, at)

    def update_job(self, printer_key: str, job: JobState) -> None:
        """Remember a printer's job as it must survive a restart; stored with the next batch."""
        self._jobs[printer_key] = job

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="printernizer_usage recorder"
        )

    async def close(self) -> None:
        """Stop the writer and write what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def flush(self) -> None:
        """Write everything buffered now, in batches of at most `batch_size`, and credit open
        intervals up to now."""
        async with self._flush_lock:
            while True:
                batch = [
                    self._buffer.popleft() for _ in range(min(self._batch_size, len(self._buffer)))
                ]
                fleet, self._fleet = self._fleet, None
                jobs, self._jobs = self._jobs, {}
                try:
                    await self._store.write_batch(batch, fleet, jobs)
                except BaseException:
                    # Nothing recorded is dropped: the batch goes back to the front of the buffer.
                    self._buffer.extendleft(reversed(batch))
                    if self._fleet is None:
                        self._fleet = fleet
                    self._jobs = jobs | self._jobs
                    raise
                if not self._buffer:
                    break
            self._since_checkpoint = 0.0

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_interval)
            self._wake.clear()
            self._since_checkpoint += self._flush_interval
            if (
                self._buffer
                or self._fleet is not None
                or self._jobs
                or self._since_checkpoint >= CHECKPOINT_SECONDS
            ):
                try:
                    # Shielded: close() cancelling this task must not interrupt a write half-way.
                    await asyncio.shield(self.flush())
                except Exception:
                    # Keep recording; the next round tries again with what is buffered then.
                    _LOGGER.exception("Writing usage events failed")
