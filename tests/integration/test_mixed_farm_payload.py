"""A mixed farm — two OctoPrint printers and a PrusaLink printer through Home Assistant's REAL
integrations (fake printers over HTTP), plus a Bambu Lab X1C and P1S made of real registry entries — runs
jobs with different outcomes per printer. The week's payload must say per (family, model) exactly what
each printer did, its sums must be the fleet totals, and the receiver's own validation must accept it.
"""

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from custom_components.printernizer_usage.engine.payload import InstallationContext
from receiver.ingest.validation import decode_payload

from .conftest import SetUpIntegration
from .fake_octoprint import FakeOctoPrint
from .fake_prusalink import FakePrusaLink
from .printers import FakePrinter, add_bambu_printer
from .real_printers import (
    RealPrinter,
    advance,
    freeze_time,
    octoprint_printer,
    prusalink_printer,
    set_up_octoprint,
)

pytestmark = freeze_time
POLL = timedelta(seconds=30)
COUNTERS = (
    "jobs_started",
    "jobs_completed",
    "jobs_failed",
    "jobs_cancelled",
    "jobs_ended_without_outcome",
)


class Farm:
    def __init__(
        self,
        hass: HomeAssistant,
        freezer: FrozenDateTimeFactory,
        octo_a: RealPrinter[FakeOctoPrint],
        octo_b: RealPrinter[FakeOctoPrint],
        prusa: RealPrinter[FakePrusaLink],
        x1c: FakePrinter,
        p1s: FakePrinter,
    ) -> None:
        self.hass, self.freezer = hass, freezer
        self.octo_a, self.octo_b, self.prusa, self.x1c, self.p1s = octo_a, octo_b, prusa, x1c, p1s

    async def polls(self, count: int) -> None:
        await advance(self.hass, self.freezer, POLL, count)

    def bambu(self, printer: FakePrinter, state: str, *events: tuple[str, str | None]) -> None:
        for event_type, code in events:
            data: dict[str, Any] = {"device_id": printer.device_id, "type": event_type}
            if code is not None:
                data["code"] = code
            self.hass.bus.async_fire("bambu_lab_event", data)
        printer.set_state(self.hass, state)


@pytest.fixture
async def second_octoprint(hass: HomeAssistant) -> AsyncIterator[RealPrinter[FakeOctoPrint]]:
    fake = FakeOctoPrint()
    fake.upnp_uuid = "0b5e5e5e-1111-4222-8333-444455556666"
    await fake.start()
    try:
        yield await set_up_octoprint(hass, fake)
    finally:
        await fake.stop()


@pytest.fixture
async def farm(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    socket_enabled: None,
    second_octoprint: RealPrinter[FakeOctoPrint],
) -> AsyncIterator[Farm]:
    async with octoprint_printer(hass) as octo_a, prusalink_printer(hass) as prusa:
        x1c = add_bambu_printer(hass, serial="01S00C000000001", model="X1 Carbon")
        p1s = add_bambu_printer(hass, serial="01P00A000000002", model="P1S")
        yield Farm(hass, freezer, octo_a, second_octoprint, prusa, x1c, p1s)


async def test_per_model_counts_are_what_each_printer_did(
    hass: HomeAssistant, farm: Farm, set_up_integration: SetUpIntegration
) -> None:
    usage = await set_up_integration()
    a, b, prusa = farm.octo_a.fake, farm.octo_b.fake, farm.prusa.fake

    # Round 1: every printer starts a job.
    a.set_state("Printing", progress=10)
    b.set_state("Printing", progress=20)
    prusa.set_state("PRINTING", progress=15)
    farm.bambu(farm.x1c, "prepare", ("event_print_started", None))
    farm.bambu(farm.p1s, "prepare", ("event_print_started", None))
    await farm.polls(1)
    farm.bambu(farm.x1c, "running")
    farm.bambu(farm.p1s, "running")
    a.set_progress(60)
    await farm.polls(4)

    # Round 2: outcomes. OctoPrint A completes without the finishing state being seen (progress 100);
    # OctoPrint B's printer errs (409: unavailable), then comes back idle; the Prusa finishes; the X1C
    # is cancelled with every duplicate ha-bambulab delivers; the P1S finishes.
    a.set_state("Operational", progress=100)
    b.make_not_operational()
    prusa.set_state("FINISHED")
    farm.bambu(
        farm.x1c,
        "failed",
        ("event_print_error", "0300_400C"),
        ("event_print_canceled", None),
        ("event_print_failed", None),
    )
    farm.bambu(farm.p1s, "finish", ("event_print_finished", None))
    await farm.polls(4)
    b.set_state("Operational", progress=0)
    prusa.set_state("IDLE")
    await farm.polls(1)

    # Round 3: OctoPrint A and the Prusa start again and are cancelled; the X1C fails for real.
    a.set_state("Printing", progress=5)
    prusa.set_state("PRINTING", progress=5)
    farm.bambu(farm.x1c, "prepare", ("event_print_started", None))
    await farm.polls(1)
    farm.bambu(farm.x1c, "running")
    a.set_progress(30)
    await farm.polls(2)
    a.set_state("Operational", progress=0)  # OctoPrint resets progress to 0 on a cancel
    prusa.set_state("STOPPED")
    farm.bambu(farm.x1c, "failed", ("event_print_error", "0700_8006"), ("event_print_failed", None))
    await farm.polls(2)

    engine = usage.runtime_data.engine
    context = InstallationContext(
        installation_id="9d2b7c1e-5a4f-4c3b-8e6d-2f1a0b9c8d7e",
        integration_version="0.1.0",
        ha_version="2026.10.4",
        platform="linux",
        deployment_mode="core",
    )
    payload = await engine.build_payload(dt_util.utcnow(), context)
    by_model = {(e["family"], e["model"]): e for e in payload["usage_by_model"]}

    def counts(family: str, model: str) -> tuple[int, ...]:
        return tuple(by_model[family, model][name] for name in COUNTERS)

    # started, completed, failed, cancelled, ended without outcome
    assert counts("octoprint", "unknown") == (3, 1, 1, 1, 0)
    assert counts("prusa", "unknown") == (2, 1, 0, 1, 0)
    assert counts("bambu_lab", "X1C") == (2, 0, 1, 1, 0)
    assert counts("bambu_lab", "P1S") == (1, 1, 0, 0, 0)
    assert by_model["octoprint", "unknown"]["printers"] == 2
    assert by_model["bambu_lab", "X1C"]["printers"] == 1

    stats = payload["usage_stats"]
    for name in (*COUNTERS, "active_printers"):
        assert sum(e[name] for e in payload["usage_by_model"]) == stats[name], name
    assert sum(e["print_hours"] for e in payload["usage_by_model"]) == pytest.approx(
        stats["print_hours"], abs=0.01 * len(by_model)
    )
    assert stats["print_hours"] > 0
    # The cancel code is a cancel, not an error; the real failure's code is an error of the X1C.
    errors = {(e["family"], e["model"], e["code"]): e["count"] for e in payload["errors_by_model"]}
    assert ("bambu_lab", "X1C", "0300_400C") not in errors
    assert sum(errors.values()) == payload["error_summary"]["total_errors"]

    # The same contract, checked by the receiver's own validation.
    valid = decode_payload(json.dumps(payload).encode(), dt_util.utcnow() + timedelta(days=7))
    assert valid.schema_version == "1.1"
