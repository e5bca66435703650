"""Fixtures for the engine tests: plain Python, no Home Assistant instance needed (scripts/test runs them
without the Home Assistant test plugin, next to the receiver tests)."""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custom_components.printernizer_usage.engine.engine import UsageEngine
from custom_components.printernizer_usage.engine.models import EventKind, UsageEvent
from custom_components.printernizer_usage.engine.payload import InstallationContext

# Monday 2026-11-09 00:00 UTC: the start of ISO week 46.
WEEK_46 = datetime(2026, 11, 9, tzinfo=UTC)
INSTALLATION_ID = "9d2b7c1e-5a4f-4c3b-8e6d-2f1a0b9c8d7e"


class Clock:
    """A settable clock for the engine (aware UTC)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    @property
    def timestamp(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def clock() -> Clock:
    return Clock(WEEK_46 + timedelta(hours=1))


@pytest.fixture
async def engine(tmp_path: Path, clock: Clock) -> AsyncIterator[UsageEngine]:
    usage = await UsageEngine.open(tmp_path / "usage.db", clock=clock)
    yield usage
    await usage.close()


def context(**overrides: object) -> InstallationContext:
    values: dict[str, object] = {
        "installation_id": INSTALLATION_ID,
        "integration_version": "0.1.0",
        "ha_version": "2026.10.4",
        "platform": "linux",
        "deployment_mode": "container",
        "python_version": "3.14.2",
    }
    values.update(overrides)
    return InstallationContext(**values)  # type: ignore[arg-type]


def event(
    kind: EventKind,
    at: datetime,
    printer: str = "p1",
    family: str = "bambu_lab",
    model: str = "X1C",
    code: str | None = None,
    severity: str | None = None,
) -> UsageEvent:
    return UsageEvent(kind, at.timestamp(), printer, family, model, code, severity)


async def wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait for `condition` (checked every 10 ms); the test fails after `within` seconds."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - another thread writes the file: no event to wait for
            await asyncio.sleep(0.01)
