"""Model names leave the machine only from the known lists: anything else becomes `unknown`."""

import pytest

from custom_components.printernizer_usage.engine.printer_states import normalize_model


@pytest.mark.parametrize(
    ("family", "raw", "expected"),
    [
        ("bambu_lab", "X1 Carbon", "X1C"),
        ("bambu_lab", "p1s", "P1S"),
        ("bambu_lab", "A1 mini", "A1MINI"),
        ("bambu_lab", "Kevin's X1C in the garage", "unknown"),
        ("elegoo", "Centauri Carbon", "Centauri Carbon"),
        ("elegoo", "ELEGOO Centauri Carbon 2", "Centauri Carbon 2"),
        ("elegoo", "saturn 4 ultra 16k", "Saturn 4 Ultra 16K"),
        ("elegoo", "Office printer 3", "unknown"),
        ("elegoo", "Neptune 4 Pro (192.168.1.20)", "unknown"),
        ("prusa", "MK4", "unknown"),
        ("klipper", "moonraker", "unknown"),
        ("octoprint", None, "unknown"),
    ],
)
def test_only_known_models_are_kept(family: str, raw: str | None, expected: str) -> None:
    assert normalize_model(family, raw) == expected
