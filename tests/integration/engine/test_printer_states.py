"""Job-state values of each printer platform become the right job events."""

import pytest

from custom_components.printernizer_usage.engine.models import EventKind
from custom_components.printernizer_usage.engine.printer_states import (
    Phase,
    PrinterTracker,
    family_for_platform,
    interpret,
    normalize_model,
)


def kinds(tracker: PrinterTracker, *steps: tuple[str | None, float]) -> list[EventKind]:
    result: list[EventKind] = []
    for value, at in steps:
        result += [e.kind for e in tracker.observe_state(value, at)]
    return result


def test_bambu_job_lifecycle_counts_one_started_and_one_completed() -> None:
    tracker = PrinterTracker("p", "bambu_lab", "X1C")
    assert kinds(
        tracker,
        ("idle", 0),
        ("prepare", 10),
        ("running", 20),
        ("pause", 30),
        ("running", 40),
        ("finish", 50),
        ("finish", 60),
        ("idle", 70),
    ) == [EventKind.PRINTER_CONNECTED, EventKind.JOB_STARTED, EventKind.JOB_COMPLETED]


def test_bambu_failed_after_running_is_a_failure() -> None:
    tracker = PrinterTracker("p", "bambu_lab", "P1S")
    assert kinds(tracker, ("idle", 0), ("running", 1), ("failed", 2)) == [
        EventKind.PRINTER_CONNECTED,
        EventKind.JOB_STARTED,
        EventKind.JOB_FAILED,
    ]


@pytest.mark.parametrize(
    ("family", "values", "outcome"),
    [
        ("prusa", ["idle", "printing", "finished"], EventKind.JOB_COMPLETED),
        ("prusa", ["ready", "printing", "stopped"], EventKind.JOB_CANCELLED),
        ("prusa", ["idle", "printing", "attention", "error"], EventKind.JOB_FAILED),
        (
            "octoprint",
            ["operational", "printing", "finishing", "operational"],
            EventKind.JOB_COMPLETED,
        ),
        (
            "octoprint",
            ["operational", "printing_sd", "cancelling", "operational"],
            EventKind.JOB_CANCELLED,
        ),
        ("octoprint", ["operational", "printing", "offline_after_error"], EventKind.JOB_FAILED),
        # Before Home Assistant 2026.1 OctoPrint reported raw text.
        (
            "octoprint",
            ["Operational", "Printing", "Finishing", "Operational"],
            EventKind.JOB_COMPLETED,
        ),
        (
            "octoprint",
            ["Operational", "Printing from SD", "Cancelling", "Operational"],
            EventKind.JOB_CANCELLED,
        ),
        (
            "klipper",
            ["standby", "printing", "paused", "printing", "complete"],
            EventKind.JOB_COMPLETED,
        ),
        ("klipper", ["standby", "printing", "cancelled"], EventKind.JOB_CANCELLED),
        ("klipper", ["standby", "printing", "error"], EventKind.JOB_FAILED),
        ("elegoo", ["idle", "preheating", "printing", "complete"], EventKind.JOB_COMPLETED),
        ("elegoo", ["idle", "printing", "stopping", "stopped"], EventKind.JOB_CANCELLED),
    ],
)
def test_platform_state_sequences(family: str, values: list[str], outcome: EventKind) -> None:
    tracker = PrinterTracker("p", family, "unknown")
    events = kinds(tracker, *[(value, float(i)) for i, value in enumerate(values)])
    assert events == [EventKind.PRINTER_CONNECTED, EventKind.JOB_STARTED, outcome]


def test_octoprint_printing_straight_to_operational_has_no_outcome() -> None:
    tracker = PrinterTracker("p", "octoprint", "unknown")
    assert kinds(tracker, ("operational", 0), ("printing", 30), ("operational", 60)) == [
        EventKind.PRINTER_CONNECTED,
        EventKind.JOB_STARTED,
    ]


def test_a_persisted_final_state_at_start_up_is_not_a_job() -> None:
    tracker = PrinterTracker("p", "klipper", "unknown")
    assert kinds(tracker, ("complete", 0), ("standby", 5)) == [EventKind.PRINTER_CONNECTED]


def test_printing_at_start_up_is_a_job_in_progress_not_a_start() -> None:
    tracker = PrinterTracker("p", "prusa", "unknown")
    assert kinds(tracker, ("printing", 0), ("finished", 100)) == [
        EventKind.PRINTER_CONNECTED,
        EventKind.JOB_IN_PROGRESS,
        EventKind.JOB_COMPLETED,
    ]


def test_short_unavailability_is_debounced_away() -> None:
    tracker = PrinterTracker("p", "prusa", "unknown")
    assert kinds(tracker, ("idle", 0), ("unavailable", 100), ("idle", 130)) == [
        EventKind.PRINTER_CONNECTED,
    ]
    assert tracker.poll(1000) == []
    assert tracker.connected is True


def test_long_unavailability_is_one_disconnection_dated_when_it_began() -> None:
    tracker = PrinterTracker("p", "prusa", "unknown")
    tracker.observe_state("idle", 0)
    assert tracker.observe_state("unavailable", 100) == []
    assert tracker.poll(159) == []
    (disconnected,) = tracker.poll(160)
    assert (disconnected.kind, disconnected.timestamp) == (EventKind.PRINTER_DISCONNECTED, 100)
    assert tracker.poll(500) == []
    assert tracker.observe_state("unavailable", 600) == []
    assert tracker.poll(900) == []
    assert kinds(tracker, ("idle", 1000)) == [EventKind.PRINTER_CONNECTED]


def test_bambu_offline_value_is_a_disconnection() -> None:
    tracker = PrinterTracker("p", "bambu_lab", "A1")
    tracker.observe_state("idle", 0)
    tracker.observe_state("offline", 10)
    assert [e.kind for e in tracker.observe_state("offline", 100)] == [
        EventKind.PRINTER_DISCONNECTED
    ]
    assert tracker.connected is False


def test_reconnecting_mid_job_resumes_it_and_reports_its_outcome() -> None:
    tracker = PrinterTracker("p", "klipper", "unknown")
    kinds(tracker, ("standby", 0), ("printing", 10))
    tracker.observe_state("unavailable", 20)
    assert kinds(tracker, ("printing", 200)) == [
        EventKind.PRINTER_DISCONNECTED,
        EventKind.PRINTER_CONNECTED,
        EventKind.JOB_IN_PROGRESS,
    ]
    assert kinds(tracker, ("complete", 300)) == [EventKind.JOB_COMPLETED]


def test_unknown_values_say_nothing() -> None:
    tracker = PrinterTracker("p", "prusa", "unknown")
    assert kinds(tracker, (None, 0), ("busy", 1)) == []
    assert kinds(tracker, ("idle", 2), ("busy", 3), ("weird", 4)) == [EventKind.PRINTER_CONNECTED]
    assert tracker.phase is Phase.IDLE


def test_bambu_bus_events_replace_state_inference_without_double_counting() -> None:
    tracker = PrinterTracker("p", "bambu_lab", "X1C")
    kinds(tracker, ("idle", 0))
    # The state changed first and was counted; the bus event for the same start is not counted again.
    assert kinds(tracker, ("running", 10)) == [EventKind.JOB_STARTED]
    assert tracker.observe_bus_event("event_print_started", 12) == []
    # From now on job events come from the bus only.
    assert kinds(tracker, ("failed", 100)) == []
    (cancelled,) = tracker.observe_bus_event("event_print_canceled", 101)
    assert cancelled.kind is EventKind.JOB_CANCELLED
    assert kinds(tracker, ("idle", 200), ("running", 300)) == []
    assert [e.kind for e in tracker.observe_bus_event("event_print_started", 300)] == [
        EventKind.JOB_STARTED
    ]
    assert [e.kind for e in tracker.observe_bus_event("event_print_finished", 400)] == [
        EventKind.JOB_COMPLETED
    ]
    assert tracker.observe_bus_event("event_print_error_cleared", 401) == []


def test_bambu_error_events_keep_code_and_severity_only() -> None:
    tracker = PrinterTracker("p", "bambu_lab", "X1C")
    (error,) = tracker.observe_bus_event(
        "event_printer_error", 5, code="0300_0100_0001_0001", severity=" Serious "
    )
    assert (error.kind, error.error_code, error.severity) == (
        EventKind.PRINTER_ERROR,
        "0300_0100_0001_0001",
        "serious",
    )
    (no_code,) = tracker.observe_bus_event("event_print_error", 6)
    assert (no_code.error_code, no_code.severity) == ("unknown", None)
    manual = tracker.error("E1", None, 7)
    assert (manual.kind, manual.family, manual.model) == (
        EventKind.PRINTER_ERROR,
        "bambu_lab",
        "X1C",
    )


def test_family_and_model_normalisation() -> None:
    assert family_for_platform("moonraker") == "klipper"
    assert family_for_platform("prusalink") == "prusa"
    assert family_for_platform("hue") is None
    assert normalize_model("bambu_lab", "x1c") == "X1C"
    assert normalize_model("bambu_lab", "A1 Mini") == "A1MINI"
    assert normalize_model("bambu_lab", "X1 Carbon") == "X1C"
    assert normalize_model("bambu_lab", "My secret printer") == "unknown"
    assert normalize_model("bambu_lab", None) == "unknown"
    assert normalize_model("klipper", "moonraker") == "unknown"
    assert normalize_model("elegoo", "Centauri Carbon") == "Centauri Carbon"
    assert normalize_model("elegoo", "<script>") == "unknown"
    assert interpret("nothing", "printing") is Phase.UNKNOWN
