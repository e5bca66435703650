"""PrinterTracker against the entity-state and bus-event sequences the real printer integrations emit.

Every sequence cites where it comes from: the integration's source as read for docs/printers.md (the
section of that page and the upstream file/function). The printer is driven through `SimPrinter`, which
reads its entities in the fleet observer's order and applies the tracker's events to the `Accounting`.
"""

import pytest
from homeassistant.core import State

from custom_components.printernizer_usage.engine.job_tracker import (
    BAMBU_OUTCOME_GRACE_SECONDS,
)
from custom_components.printernizer_usage.engine.models import EventKind
from custom_components.printernizer_usage.engine.rollup import (
    ERRORS,
    JOBS_CANCELLED,
    JOBS_COMPLETED,
    JOBS_ENDED,
    JOBS_FAILED,
    JOBS_STARTED,
    PAUSED_SECONDS,
    PRINT_SECONDS,
    Accounting,
    PrinterAccount,
    RollupDelta,
)
from custom_components.printernizer_usage.printer_entities import Role

from .tracker_sim import PRINTER, T0, SimPrinter, hms_state, print_error_state

STARTED = EventKind.JOB_STARTED
IN_PROGRESS = EventKind.JOB_IN_PROGRESS
COMPLETED = EventKind.JOB_COMPLETED
FAILED = EventKind.JOB_FAILED
CANCELLED = EventKind.JOB_CANCELLED
ENDED = EventKind.JOB_ENDED
PAUSED = EventKind.JOB_PAUSED
RESUMED = EventKind.JOB_RESUMED
HOUR = 3600.0

HMS_NOZZLE = "HMS_0300_0100_0001_0007"
HMS_AMS = "HMS_0700_2000_0002_0001"
CANCEL_CODE = "0300_400C"  # pybambu: print_error 50348044, "The task was canceled."


# ---------------------------------------------------------------------------------------------------
# Bambu Lab (greghesp/ha-bambulab; docs/printers.md "Bambu Lab"). `print_status` is
# `gcode_state.lower()` or `offline` (definitions.py); the `bambu_lab_event` bus events are fired by
# coordinator.py `PublishDeviceTriggerEvent` from pybambu/models.py `PrintJob.print_update`.
# ---------------------------------------------------------------------------------------------------


def bambu(*, errors_from_bus: bool = False) -> SimPrinter:
    """An idle X1C, its print_error/hms_errors binary sensors in Home Assistant unless `errors_from_bus`."""
    printer = SimPrinter("bambu_lab", "X1C")
    printer.tracker.errors_from_bus = errors_from_bus
    errors = {} if errors_from_bus else {Role.PRINT_ERROR: print_error_state(None)}
    if not errors_from_bus:
        errors[Role.HMS_ERRORS] = hms_state()
    # The previous job's progress and planned length stay until the next job's load (models.py).
    printer.update("idle", print_type="idle", progress=100, filament_m=7.0, errors=errors)
    return printer


def bambu_start(printer: SimPrinter, *, started_event_first: bool = True) -> None:
    """idle → prepare → running, `event_print_started` when gcode_state leaves IDLE/FAILED/FINISH
    (models.py `print_update`); the event and the entity writes come in either order."""
    if started_event_first:
        printer.bus("event_print_started")
    printer.update("prepare", print_type="local", progress=0, filament_m=12.5, after=1)
    if not started_event_first:
        printer.bus("event_print_started")
    printer.update("running", progress=1, after=60)
    for percent in (25, 50, 75):
        printer.update(progress=percent, after=HOUR / 4)


@pytest.mark.parametrize("started_event_first", [True, False])
@pytest.mark.parametrize("finished_event_first", [True, False])
def test_bambu_normal_print_is_one_completed_job(
    started_event_first: bool, finished_event_first: bool
) -> None:
    printer = bambu()
    bambu_start(printer, started_event_first=started_event_first)
    printer.update(progress=100, after=HOUR / 4)
    if finished_event_first:
        printer.bus("event_print_finished")
        printer.update("finish", after=0.5)
    else:
        printer.update("finish", after=1)
        printer.bus("event_print_finished", after=0.5)
    # FINISH persists until the next job: later reports, polls and a reconnect change nothing.
    printer.update(after=HOUR)
    printer.poll()
    printer.update("offline", after=10)
    printer.update("finish", after=10)

    assert printer.jobs() == [STARTED, COMPLETED]
    assert printer.error_codes() == []
    filament = [e.amount for e in printer.events if e.kind is EventKind.FILAMENT_USED]
    assert filament == [12.5]  # print_length: the job's planned length, right for a completed job
    assert printer.print_seconds == pytest.approx(HOUR + 61, abs=3)


CANCEL_ORDERS: dict[str, list[tuple[str, str | None, str | None]]] = {
    # One MQTT payload: print_error 0300_400C fires `event_print_canceled` inside print_update and
    # `event_print_error` from PrintError.print_update (order not guaranteed); FAILED arrives in a
    # later payload and fires `event_print_failed` (greghesp/ha-bambulab#257: "a transient cancel
    # state and then a persistent failed state. So I'm firing both events one after another").
    "error, canceled, failed state, failed event": [
        ("bus", "event_print_error", CANCEL_CODE),
        ("bus", "event_print_canceled", None),
        ("print_error", CANCEL_CODE, None),
        ("state", "failed", None),
        ("bus", "event_print_failed", None),
    ],
    "canceled, error, failed event, failed state": [
        ("bus", "event_print_canceled", None),
        ("bus", "event_print_error", CANCEL_CODE),
        ("print_error", CANCEL_CODE, None),
        ("bus", "event_print_failed", None),
        ("state", "failed", None),
    ],
    # The state written before the bus events reach the observer.
    "failed state, failed event, error, canceled": [
        ("print_error", CANCEL_CODE, None),
        ("state", "failed", None),
        ("bus", "event_print_failed", None),
        ("bus", "event_print_error", CANCEL_CODE),
        ("bus", "event_print_canceled", None),
    ],
    # The failure event ahead of the state; the entities are written again (still `running`)
    # before the payload with FAILED.
    "failed event, running report, canceled, failed state": [
        ("bus", "event_print_failed", None),
        ("report", None, None),
        ("bus", "event_print_canceled", None),
        ("report", None, None),
        ("state", "failed", None),
    ],
    "failed event, failed state, canceled, error": [
        ("bus", "event_print_failed", None),
        ("state", "failed", None),
        ("bus", "event_print_canceled", None),
        ("bus", "event_print_error", CANCEL_CODE),
        ("print_error", CANCEL_CODE, None),
    ],
    # Some firmware go back to IDLE after a cancel (ha-bambulab#176).
    "error, canceled, idle state": [
        ("bus", "event_print_error", CANCEL_CODE),
        ("bus", "event_print_canceled", None),
        ("print_error", CANCEL_CODE, None),
        ("state", "idle", None),
    ],
    # "Printing was cancelled." (0500_400E), not recognised by the integration as a cancel: it fires
    # `event_print_failed` and `event_print_error` with that code (hms_en.json device_error).
    "0500_400E error, failed event, failed state": [
        ("bus", "event_print_error", "0500_400E"),
        ("print_error", "0500_400E", None),
        ("bus", "event_print_failed", None),
        ("state", "failed", None),
    ],
}


@pytest.mark.parametrize("errors_from_bus", [False, True], ids=["entities", "bus-only"])
@pytest.mark.parametrize("order", list(CANCEL_ORDERS))
def test_bambu_user_cancel_is_one_cancel_and_no_error(order: str, errors_from_bus: bool) -> None:
    printer = bambu(errors_from_bus=errors_from_bus)
    bambu_start(printer)
    for step, value, code in CANCEL_ORDERS[order]:
        if step == "bus":
            assert value is not None
            printer.bus(value, code=code)
        elif step == "state":
            printer.update(value, after=1)
        elif step == "report":
            printer.update(progress=76, after=0.5)
        elif not errors_from_bus:
            printer.update(errors={Role.PRINT_ERROR: print_error_state(value)}, after=0.2)
    # "A couple of seconds later print_error will be reset to zero" (models.py).
    printer.bus("event_print_error_cleared", after=3)
    if not errors_from_bus:
        printer.update(errors={Role.PRINT_ERROR: print_error_state(None)}, after=0.2)
    printer.poll(after=BAMBU_OUTCOME_GRACE_SECONDS + 20)
    printer.update(after=HOUR)

    assert printer.outcomes() == [CANCELLED]
    assert printer.error_codes() == []
    assert printer.totals[JOBS_CANCELLED] == 1
    assert printer.totals[JOBS_FAILED] == printer.totals[ERRORS] == 0

    # The next job starts from the persisting FAILED (or IDLE) state and is a job of its own.
    bambu_start(printer)
    printer.update(progress=100, after=600)
    printer.bus("event_print_finished")
    printer.update("finish", after=0.5)
    assert printer.jobs() == [STARTED, CANCELLED, STARTED, COMPLETED]


@pytest.mark.parametrize("errors_from_bus", [False, True], ids=["entities", "bus-only"])
def test_bambu_real_failure_is_one_failed_job_and_one_error(errors_from_bus: bool) -> None:
    # docs/printers.md "Typical sequences": running → (pause with print_error) → failed; events
    # print_error(code) → failed. 0700_8006 is a print_error code (models.py PrintError.print_update).
    printer = bambu(errors_from_bus=errors_from_bus)
    bambu_start(printer)
    printer.bus("event_print_error", code="0700_8006", after=5)
    printer.update(
        "pause",
        errors={} if errors_from_bus else {Role.PRINT_ERROR: print_error_state("0700_8006")},
        after=0.3,
    )
    printer.update("failed", after=120)
    printer.bus("event_print_failed", after=0.2)
    assert printer.outcomes() == []  # a cancel may still follow (BAMBU_OUTCOME_GRACE_SECONDS)
    printer.poll(after=BAMBU_OUTCOME_GRACE_SECONDS + 1)
    printer.update(after=HOUR)  # FAILED persists

    assert printer.outcomes() == [FAILED]
    assert printer.error_codes() == ["0700_8006"]
    assert printer.totals[JOBS_FAILED] == 1


def test_bambu_hms_codes_count_once_per_occurrence_each_under_its_own_code() -> None:
    # hms_errors attributes (pybambu/models.py HMSList): N-Code/N-Error/N-Wiki/N-Severity and Count.
    # `event_printer_error` re-fires at every list change with only `1-Code` (coordinator.py
    # `_update_printer_error`): with the entity present, it is not what is counted.
    printer = bambu()
    bambu_start(printer)
    printer.update(errors={Role.HMS_ERRORS: hms_state((HMS_NOZZLE, "common"))}, after=10)
    printer.bus("event_printer_error", code=HMS_NOZZLE)
    # The code stays active over many reports (progress, pause/resume, another reconnect).
    printer.update(progress=80, after=60)
    printer.update("pause", after=60)
    printer.update("running", after=60)
    printer.bus("event_printer_error", code=HMS_NOZZLE)
    assert printer.error_codes() == [HMS_NOZZLE]

    # A second code joins the list: counted once, under its own code (the event repeats 1-Code).
    printer.update(
        errors={Role.HMS_ERRORS: hms_state((HMS_NOZZLE, "common"), (HMS_AMS, "serious"))},
        after=10,
    )
    printer.bus("event_printer_error", code=HMS_NOZZLE)
    printer.update(progress=85, after=60)
    # The first one clears, the second stays: nothing new.
    printer.update(errors={Role.HMS_ERRORS: hms_state((HMS_AMS, "serious"))}, after=60)
    # The first one comes back: a new occurrence.
    printer.update(
        errors={Role.HMS_ERRORS: hms_state((HMS_AMS, "serious"), (HMS_NOZZLE, "common"))},
        after=60,
    )
    printer.update(errors={Role.HMS_ERRORS: hms_state()}, after=60)
    printer.bus("event_printer_error_cleared")

    errors = [
        (e.error_code, e.severity) for e in printer.events if e.kind is EventKind.PRINTER_ERROR
    ]
    assert errors == [(HMS_NOZZLE, "common"), (HMS_AMS, "serious"), (HMS_NOZZLE, "common")]
    assert printer.errors_by_code == {HMS_NOZZLE: 2, HMS_AMS: 1}
    assert printer.totals[ERRORS] == 3


def test_bambu_hms_from_the_bus_alone_counts_a_standing_code_once() -> None:
    # Without the hms_errors entity only `event_printer_error` (1-Code) is known; it re-fires at
    # every HMS list change and after every reconnect (docs/printers.md "Bus events").
    printer = bambu(errors_from_bus=True)
    bambu_start(printer)
    for _ in range(3):
        printer.bus("event_printer_error", code=HMS_NOZZLE, after=30)
    printer.update("offline", after=10)
    printer.update("running", after=10)
    printer.bus("event_printer_error", code=HMS_NOZZLE)
    assert printer.error_codes() == [HMS_NOZZLE]
    printer.bus("event_printer_error_cleared", after=60)
    printer.bus("event_printer_error", code=HMS_NOZZLE, after=60)
    assert printer.error_codes() == [HMS_NOZZLE, HMS_NOZZLE]


def test_bambu_calibration_with_print_type_system_is_not_a_job() -> None:
    # PR #504: print_type is `system` "when doing things like calibration off gcode files stored in
    # the firmware"; the started/finished events fire for it too (models.py `print_update`), and
    # they are published before the entities are written with the new print_type.
    printer = bambu()
    printer.bus("event_print_started")
    printer.update("running", print_type="system", progress=0, after=0.2)
    printer.update(progress=50, after=600)
    printer.bus("event_print_finished", after=600)
    printer.update("finish", progress=100, after=0.2)
    printer.update("idle", print_type="idle", after=60)

    assert printer.jobs() == []
    assert printer.print_seconds == 0


def test_bambu_offline_mid_print_then_back_running_is_the_same_job() -> None:
    # print_status is "offline" while MQTT is disconnected; the gcode_state comes back on reconnect.
    printer = bambu()
    bambu_start(printer)
    printer.update("offline", after=10)
    for _ in range(8):  # 4 min: the debounce elapses (a disconnection), the job is not lost
        printer.poll()
    printer.update("running", progress=80, after=10)
    printer.update(progress=100, after=HOUR / 4)
    printer.bus("event_print_finished")
    printer.update("finish", after=0.5)

    assert printer.jobs() == [STARTED, COMPLETED]
    assert EventKind.JOB_RESUMED in printer.kinds()


def test_bambu_restart_mid_job_counts_one_start_and_one_outcome() -> None:
    # After a restart the sensor reads `unknown` until the first report, then `running`; no
    # event_print_started (the previous gcode_state is "unknown": models.py `print_update`).
    printer = bambu()
    bambu_start(printer)
    printed_before = printer.checkpoint()[PRINT_SECONDS]
    printer.restart(after=120)
    printer.update("unknown", print_type="unknown", progress=None, after=1)
    printer.update("running", print_type="local", progress=78, after=2)
    printer.update(progress=100, after=HOUR / 4)
    printer.bus("event_print_finished")
    printer.update("finish", after=0.5)

    assert printer.jobs() == [STARTED, COMPLETED]
    assert printer.totals[JOBS_STARTED] == printer.totals[JOBS_COMPLETED] == 1
    # Time is credited before and after the restart, not while Home Assistant was down.
    assert printed_before > 0
    assert printer.print_seconds == pytest.approx(61 + 3 * HOUR / 4 + HOUR / 4 + 1, abs=3)


def test_bambu_restart_after_the_job_finished_unseen_closes_it_once() -> None:
    printer = bambu()
    bambu_start(printer)
    printer.restart(after=HOUR)
    printer.update("finish", progress=100, after=1)
    printer.update(after=60)
    printer.restart(after=60)
    printer.update("finish", progress=100, after=1)

    assert printer.jobs() == [STARTED, COMPLETED]


# ---------------------------------------------------------------------------------------------------
# Moonraker (marcolivierarsenault/moonraker-home-assistant; docs/printers.md "Moonraker / Klipper"):
# `print_state` is Klipper's print_stats.state (klippy/extras/print_stats.py); progress and
# filament_used read 0 whenever print_state is not `printing` (sensor.py
# `empty_result_when_not_printing`); the Klipper `state` sensor is ready/startup/shutdown/error.
# ---------------------------------------------------------------------------------------------------


def moonraker() -> SimPrinter:
    printer = SimPrinter("klipper")
    printer.update("standby", progress=0, filament_m=0, errors={Role.KLIPPY_STATE: klippy("ready")})
    return printer


def klippy(value: str) -> State:
    return State("sensor.voron_state", value)


def moonraker_print(printer: SimPrinter, until: float = 60) -> None:
    """note_start → printing; progress and filament_used grow (2 s polls while printing)."""
    printer.update("printing", progress=0, filament_m=0)
    for percent in range(10, int(until) + 1, 10):
        printer.update(progress=percent, filament_m=percent / 10, after=HOUR / 10)


def test_moonraker_complete_persists_and_a_later_standby_changes_nothing() -> None:
    printer = moonraker()
    moonraker_print(printer, until=100)
    # _note_finish("complete"): progress and filament_used drop to 0 with it.
    printer.update("complete", progress=0, filament_m=0, after=2)
    printer.update(after=HOUR)
    printer.restart()
    printer.update("complete", progress=0, filament_m=0, after=1)
    # reset() at SDCARD_RESET_FILE or a Klipper restart.
    printer.update("standby", after=HOUR)

    assert printer.jobs() == [STARTED, COMPLETED]
    filament = [e.amount for e in printer.events if e.kind is EventKind.FILAMENT_USED]
    assert filament == [10.0]  # the last value read while printing, not the 0 after it
    assert printer.print_seconds == pytest.approx(HOUR + 2)


@pytest.mark.parametrize(
    ("final", "outcome", "codes"),
    [("cancelled", CANCELLED, []), ("error", FAILED, ["state_error"])],
)
def test_moonraker_cancelled_and_error(final: str, outcome: EventKind, codes: list[str]) -> None:
    printer = moonraker()
    moonraker_print(printer, until=40)
    printer.update(final, progress=0, filament_m=0, after=2)
    printer.update("standby", after=HOUR)

    assert printer.jobs() == [STARTED, outcome]
    assert printer.error_codes() == codes
    assert [e.amount for e in printer.events if e.kind is EventKind.FILAMENT_USED] == [4.0]


def test_moonraker_pause_reads_zero_progress_and_filament_and_keeps_the_printing_values() -> None:
    printer = moonraker()
    moonraker_print(printer, until=40)
    printer.update("paused", progress=0, filament_m=0, after=2)
    printer.update(after=HOUR / 2)
    printer.poll()
    printer.update("printing", progress=41, filament_m=4.1, after=HOUR / 2)
    printer.update(progress=100, filament_m=10.0, after=HOUR)
    printer.update("complete", progress=0, filament_m=0, after=2)

    assert printer.kinds() == [STARTED, PAUSED, RESUMED, EventKind.FILAMENT_USED, COMPLETED]
    assert [e.amount for e in printer.events if e.kind is EventKind.FILAMENT_USED] == [10.0]
    assert printer.paused_seconds == pytest.approx(HOUR + 30)
    assert printer.print_seconds == pytest.approx(0.4 * HOUR + 2 + HOUR + 2)


def test_moonraker_restart_while_paused_keeps_the_job() -> None:
    # After the restart progress reads 0 (paused): that is not a new job replacing the old one.
    printer = moonraker()
    moonraker_print(printer, until=60)
    printer.update("paused", progress=0, filament_m=0, after=2)
    printer.restart()
    printer.update("paused", progress=0, filament_m=0, after=1)
    printer.update("printing", progress=61, filament_m=6.1, after=HOUR)
    printer.update(progress=100, filament_m=10.0, after=HOUR)
    printer.update("complete", progress=0, filament_m=0, after=2)

    assert printer.jobs() == [STARTED, COMPLETED]
    assert [e.amount for e in printer.events if e.kind is EventKind.FILAMENT_USED] == [10.0]


@pytest.mark.parametrize("first_state", ["printing", "paused"])
def test_moonraker_restart_finds_another_job_printing(first_state: str) -> None:
    # The job finished while Home Assistant was down and the next one runs: progress read while
    # printing is far below the remembered job's.
    printer = moonraker()
    moonraker_print(printer, until=60)
    printer.restart(after=2 * HOUR)
    printer.update(first_state, progress=0 if first_state == "paused" else 10, after=1)
    printer.update("printing", progress=12, filament_m=1.2, after=60)
    printer.update(progress=100, filament_m=10.0, after=HOUR)
    printer.update("complete", progress=0, filament_m=0, after=2)

    assert printer.jobs() == [STARTED, ENDED, IN_PROGRESS, COMPLETED]


def test_moonraker_klipper_shutdown_is_an_error_and_fails_the_job() -> None:
    # An MCU/thermal fault: Klipper `state` → shutdown, print_stats may be left `paused`; after
    # FIRMWARE_RESTART state is ready and print_state standby (reset()).
    printer = moonraker()
    moonraker_print(printer, until=30)
    printer.update(
        "paused", progress=0, filament_m=0, errors={Role.KLIPPY_STATE: klippy("shutdown")}
    )
    printer.update(after=60)
    printer.poll()
    printer.update(after=60)
    printer.update("standby", errors={Role.KLIPPY_STATE: klippy("startup")}, after=120)
    printer.update(errors={Role.KLIPPY_STATE: klippy("ready")}, after=5)

    assert printer.jobs() == [STARTED, FAILED]
    assert printer.error_codes() == ["klippy_shutdown"]


# ---------------------------------------------------------------------------------------------------
# Elegoo (danielcherubini/elegoo-homeassistant; docs/printers.md "Elegoo"): `print_status` is the
# ElegooPrintStatus name, `current_status` the machine status (definitions.py); CC1 wire codes from
# sdcp/models/enums.py `_FDM_PRINT_STATUS_CODES`, CC2 from cc2/models.py `CC2StatusMapper`.
# ---------------------------------------------------------------------------------------------------


def elegoo() -> SimPrinter:
    printer = SimPrinter("elegoo", "Centauri Carbon")
    printer.update("idle", machine_status="idle", progress=None, after=2)
    return printer


def test_elegoo_cc1_parked_on_preheating_completed_is_one_completed_job() -> None:
    # enums.py `from_fdm_int`: "the firmware parks on lifecycle milestones ("preheating completed")
    # for the duration of a job"; tests/test_fdm_print_status.py: "CC1 V1.4.46 parks on code 20".
    printer = elegoo()
    printer.update("file_checking", machine_status="printing", progress=0)
    for status in ("print_started", "homing", "leveling", "preheating", "preheating_completed"):
        printer.update(status, after=30)
    for percent in range(5, 101, 5):
        printer.update(progress=percent, after=HOUR / 20)
    # status.py `compute_percent_complete`: unknown outside the active statuses.
    printer.update("complete", machine_status="idle", progress=None, after=2)
    printer.update("idle", after=60)

    assert printer.jobs() == [STARTED, COMPLETED]
    assert printer.print_seconds == pytest.approx(HOUR + 150 + 2)


def test_elegoo_cc1_machine_status_leaving_printing_closes_a_parked_job_at_that_time() -> None:
    # The parked print_status was written when the job started; the job ends when the machine
    # status says so, not at that old `last_changed`.
    printer = elegoo()
    printer.update("preheating_completed", machine_status="printing", progress=1)
    printer.update(progress=100, after=HOUR)
    printer.update(machine_status="idle", progress=None, after=2)

    assert printer.jobs() == [STARTED, COMPLETED]
    assert printer.print_seconds == pytest.approx(HOUR + 2)


def test_elegoo_cc2_transient_complete_is_one_completed_job() -> None:
    # CC2: any sub_status not in the map is idle; COMPLETE lasts an instant before IDLE and is
    # replayed by coordinator.py `_replay_cc2_print_status_transitions`.
    printer = elegoo()
    printer.update("preheating", machine_status="printing", progress=0)
    printer.update("leveling", after=120)
    printer.update("printing", progress=1, after=120)
    printer.update(progress=100, after=HOUR)
    printer.update("complete", machine_status="idle", after=2)
    printer.update("idle", progress=None, after=0.001)

    assert printer.jobs() == [STARTED, COMPLETED]


def test_elegoo_stopping_then_stopped_is_a_cancel() -> None:
    printer = elegoo()
    printer.update("printing", machine_status="printing", progress=10)
    printer.update(progress=30, after=HOUR / 2)
    printer.update("stopping", machine_status="stopping", progress=None, after=2)
    printer.update("stopped", machine_status="stopped", after=10)
    printer.update("idle", machine_status="idle", after=60)

    assert printer.jobs() == [STARTED, CANCELLED]
    assert printer.error_codes() == []


@pytest.mark.parametrize(
    ("machine_status", "print_statuses"),
    [
        ("leveling", ["leveling", "auto_leveling_completed"]),
        ("input_shaping", ["resonance_testing", "resonance_testing_completed"]),
        ("loading_unloading", ["loading", "filament_unloading"]),
        ("file_transferring", ["idle", "file_checking"]),
    ],
)
def test_elegoo_calibration_maintenance_and_upload_are_not_jobs(
    machine_status: str, print_statuses: list[str]
) -> None:
    printer = elegoo()
    for status in print_statuses:
        printer.update(status, machine_status=machine_status, progress=0, after=60)
    printer.update("idle", machine_status="idle", progress=None, after=60)

    assert printer.jobs() == []
    assert printer.print_seconds == 0


# ---------------------------------------------------------------------------------------------------
# OctoPrint and PrusaLink (Home Assistant core; docs/printers.md): unit level, as the real-integration
# tests in tests/integration/test_real_*_jobs.py do end to end. 30 s polls.
# ---------------------------------------------------------------------------------------------------


def octoprint() -> SimPrinter:
    printer = SimPrinter("octoprint")
    printer.update("operational", progress=100)  # the last job's 100 stays (standard.py `_done`)
    return printer


def test_octoprint_finish_without_finishing_and_progress_100_is_completed() -> None:
    printer = octoprint()
    printer.update("printing", progress=0)
    for percent in (0.5, 50, 99.2):
        printer.update(progress=percent, after=HOUR / 3)
    # `finishing` is missed between two polls; `on_comm_print_job_done` sets completion 1.0.
    printer.update("operational", progress=100)
    printer.update(after=HOUR)

    assert printer.jobs() == [STARTED, COMPLETED]
    assert printer.print_seconds == pytest.approx(HOUR + 30)


def test_octoprint_cancel_with_progress_reset_to_zero_is_cancelled() -> None:
    printer = octoprint()
    printer.update("printing", progress=0)
    printer.update(progress=40, after=HOUR)
    # `cancelling` missed; `on_comm_print_job_cancelled` clears the progress data: 0.
    printer.update("operational", progress=0)

    assert printer.jobs() == [STARTED, CANCELLED]


def test_octoprint_printer_error_409_then_operational_is_failed() -> None:
    # /api/printer answers 409 when not operational: the status entity goes unavailable, the job
    # percentage stays available (server/api/printer.py `printerState`, coordinator.py).
    printer = octoprint()
    printer.update("printing", progress=0)
    printer.update(progress=40, after=HOUR)
    printer.update("unavailable", after=30)
    printer.update(after=30)
    printer.update(after=30)
    printer.update("operational", progress=40, after=30)

    assert printer.jobs() == [STARTED, FAILED]
    assert printer.print_seconds == pytest.approx(HOUR + 30, abs=1)


def test_octoprint_sd_upload_streaming_is_not_a_job() -> None:
    # M28 upload: STATE_PRINTING while `isStreaming()`; the percentage is the upload's.
    printer = octoprint()
    printer.update("starting_streaming", progress=0)
    printer.update("printing_streaming", progress=30)
    printer.update(progress=100, after=60)
    printer.update("operational", progress=100)

    assert printer.jobs() == []
    assert printer.print_seconds == 0


def prusalink() -> SimPrinter:
    printer = SimPrinter("prusa")
    printer.update("idle", progress=None)  # job.progress is unavailable without a job
    return printer


def test_prusalink_attention_before_any_job_is_not_a_job() -> None:
    # The pre-print preview question (printer_state.cpp: a PrintPreview FSM question → ATTENTION);
    # the user cancels back to idle.
    printer = prusalink()
    printer.update("attention", progress=0)
    printer.update(after=HOUR)
    printer.update("idle", progress=None)

    assert printer.jobs() == []
    assert printer.print_seconds == printer.paused_seconds == 0

    # Confirmed this time: the job starts at `printing`.
    printer.update("attention", progress=0, after=60)
    printer.update("printing", progress=1, after=30)
    printer.update(progress=100, after=HOUR)
    printer.update("finished", progress=None)
    assert printer.jobs() == [STARTED, COMPLETED]
    assert printer.print_seconds == pytest.approx(HOUR + 30)


def test_prusalink_attention_during_a_job_is_the_same_job_paused() -> None:
    # Filament runout mid-print: ATTENTION (Load_unload FSM), then printing again.
    printer = prusalink()
    printer.update("printing", progress=1)
    printer.update(progress=50, after=HOUR)
    printer.update("attention", after=30)
    printer.update(after=HOUR / 2)
    printer.update("printing", progress=51, after=HOUR / 2)
    printer.update(progress=100, after=HOUR)
    printer.update("finished", progress=None, after=30)

    assert printer.kinds() == [STARTED, PAUSED, RESUMED, COMPLETED]
    assert printer.paused_seconds == pytest.approx(HOUR)
    assert printer.print_seconds == pytest.approx(2 * HOUR + 60)


def test_prusalink_power_panic_busy_mid_job_is_the_same_job() -> None:
    # Power loss: unreachable; back on: PowerPanic_acFault/Resume (BUSY), PowerPanic_AwaitingResume
    # (ATTENTION), then printing (printer_state.cpp `get_state`).
    printer = prusalink()
    printer.update("printing", progress=1)
    printer.update(progress=50, after=HOUR)
    printer.update("unavailable", after=30)
    for _ in range(6):
        printer.poll()
    printer.update("busy", progress=50, after=10)
    printer.update("attention", after=30)
    printer.update("printing", progress=51, after=30)
    printer.update(progress=100, after=HOUR)
    printer.update("finished", progress=None, after=30)

    assert printer.jobs() == [STARTED, COMPLETED]


def test_prusalink_finished_then_printing_directly_is_two_jobs() -> None:
    # Starting a new print from the end screen finalises the old one (marlin_server.cpp print_start).
    printer = prusalink()
    printer.update("printing", progress=1)
    printer.update(progress=100, after=HOUR)
    printer.update("finished", progress=None)
    printer.update("printing", progress=1, after=60)
    printer.update(progress=100, after=HOUR)
    printer.update("finished", progress=None)

    assert printer.jobs() == [STARTED, COMPLETED, STARTED, COMPLETED]


# ---------------------------------------------------------------------------------------------------
# Accounting: what the events credit.
# ---------------------------------------------------------------------------------------------------


def test_print_and_paused_seconds_grow_only_inside_an_open_job() -> None:
    printer = octoprint()
    steps: list[tuple[str | None, float | None, float]] = [
        ("operational", 100, HOUR),  # idle for an hour
        ("printing", 0, 2 * HOUR),
        ("paused", 40, HOUR / 2),
        ("printing", 41, HOUR),
        ("operational", 100, 5 * HOUR),  # done (progress 100), then idle
    ]
    grown: list[tuple[float, float]] = []
    for state, progress, duration in steps:
        printer.update(state, progress=progress, after=0)
        for _ in range(int(duration // 600)):
            printer.now += 600
            added = printer.checkpoint()
            grown.append((added[PRINT_SECONDS], added[PAUSED_SECONDS]))
    idle_before, idle_after = grown[:6], grown[-30:]
    printing, paused = grown[6:18], grown[18:21]

    assert idle_before == idle_after[:6] == [(0.0, 0.0)] * 6
    assert set(idle_after) == {(0.0, 0.0)}
    assert set(printing) == {(600.0, 0.0)}
    assert set(paused) == {(0.0, 600.0)}
    assert printer.print_seconds == 3 * HOUR
    assert printer.paused_seconds == HOUR / 2
    assert printer.jobs() == [STARTED, COMPLETED]


def test_duplicated_outcome_events_are_counted_once() -> None:
    accounting = Accounting({PRINTER: PrinterAccount("bambu_lab", "X1C")})
    delta = RollupDelta()

    def apply(kind: EventKind, at: float) -> None:
        accounting.apply(
            PRINTER,
            kind=kind,
            timestamp=T0 + at,
            code=None,
            severity=None,
            amount=None,
            delta=delta,
        )

    apply(STARTED, 0)
    apply(CANCELLED, HOUR)
    apply(FAILED, HOUR + 1)  # a late duplicate (ha-bambulab#257)
    apply(CANCELLED, HOUR + 2)
    apply(COMPLETED, 2 * HOUR)
    apply(STARTED, 3 * HOUR)
    apply(STARTED, 4 * HOUR)  # a start while open closes the first as "ended"
    apply(COMPLETED, 5 * HOUR)
    apply(COMPLETED, 5 * HOUR + 1)
    accounting.checkpoint(T0 + 10 * HOUR, delta)

    (row,) = delta.rollups.values()
    assert row[JOBS_STARTED] == 3
    assert (row[JOBS_COMPLETED], row[JOBS_FAILED], row[JOBS_CANCELLED], row[JOBS_ENDED]) == (
        1,
        0,
        1,
        1,
    )
    assert row[PRINT_SECONDS] == 3 * HOUR


def test_bambu_duplicates_through_tracker_and_accounting_count_one_cancel() -> None:
    printer = bambu()
    bambu_start(printer)
    printer.bus("event_print_canceled")
    printer.bus("event_print_error", code=CANCEL_CODE)
    printer.update("failed", errors={Role.PRINT_ERROR: print_error_state(CANCEL_CODE)}, after=1)
    printer.bus("event_print_failed", after=2)
    printer.poll(after=60)
    for _ in range(10):
        printer.now += 600
        assert printer.checkpoint()[PRINT_SECONDS] == 0

    counts = [
        printer.totals[c]
        for c in (JOBS_STARTED, JOBS_COMPLETED, JOBS_FAILED, JOBS_CANCELLED, JOBS_ENDED)
    ]
    assert counts == [1, 0, 0, 1, 0]
    assert printer.totals[ERRORS] == 0
