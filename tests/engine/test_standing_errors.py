"""A standing printer error is one error, also across a restart of Home Assistant."""

import dataclasses
from pathlib import Path

from custom_components.printernizer_usage.engine.engine import UsageEngine
from custom_components.printernizer_usage.engine.job_tracker import JobState, PrinterTracker
from custom_components.printernizer_usage.engine.models import EventKind

from .conftest import Clock

HMS_A = "HMS_0300_0100_0001_0007"
HMS_B = "HMS_0C00_0300_0003_0008"


async def test_a_standing_error_is_not_counted_again_after_a_restart(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "usage.db"
    engine = await UsageEngine.open(path, clock=clock)
    tracker = PrinterTracker("p1", "bambu_lab", "X1C")
    events = tracker.observe_state("idle", 0.0) + tracker.observe_errors({HMS_A: "common"}, 1.0)
    for event in events:
        engine.record(event)
    engine.update_job("p1", tracker.snapshot())
    await engine.close()

    engine = await UsageEngine.open(path, clock=clock)
    restored = PrinterTracker("p1", "bambu_lab", "X1C", restored=engine.open_job("p1"))
    again = restored.observe_state("idle", 100.0) + restored.observe_errors(
        {HMS_A: "common", HMS_B: "serious"}, 101.0
    )
    await engine.close()

    errors = [e.error_code for e in again if e.kind is EventKind.PRINTER_ERROR]
    assert errors == [HMS_B]  # A still stands: the same error; B is new
    assert restored.job_open is False


def test_a_snapshot_copies_every_field_of_the_job() -> None:
    job = JobState(True, True, 1.0, 50.0, True, True, True, True, 3.5, True, ("old",))
    assert {f.name for f in dataclasses.fields(JobState)} == set(job.as_dict())
    assert job.with_errors(("new",)) == dataclasses.replace(job, active_errors=("new",))
