"""The ready-to-paste dashboards of docs/integration.md: every entity they reference exists after set-up
(with the two example printers, in the language each dashboard is written for)."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.util.yaml import parse_yaml

from .conftest import SetUpIntegration
from .printers import add_moonraker_printer, add_prusalink_printer

DOCS = Path(__file__).parents[2] / "docs" / "integration.md"
_BLOCK = re.compile(
    r"<!-- dashboard: (?P<language>[a-z]{2})\b[^>]*-->\s*```yaml\n(?P<yaml>.*?)```", re.S
)
_ENTITY_ID = re.compile(r"[a-z_]+\.[a-z0-9_]+")
CORE_CARDS = {
    "entities",
    "gauge",
    "statistic",
    "statistics-graph",
    "history-graph",
    "horizontal-stack",
}


def dashboards() -> dict[str, Any]:
    """The dashboards in docs/integration.md by language."""
    return {
        match["language"]: parse_yaml(match["yaml"]) for match in _BLOCK.finditer(DOCS.read_text())
    }


def cards(config: Any) -> Iterator[dict[str, Any]]:
    """Every card, stacks included."""
    for view in config["views"]:
        stack = list(view["cards"])
        while stack:
            card = stack.pop(0)
            yield card
            stack.extend(card.get("cards", []))


def entity_ids(card: dict[str, Any]) -> Iterator[str]:
    """The entity ids a card references (`entity:`, or `entities:` as ids or rows)."""
    if "entity" in card:
        yield card["entity"]
    for row in card.get("entities", []):
        yield row if isinstance(row, str) else row["entity"]


def test_the_docs_have_both_dashboards() -> None:
    assert set(dashboards()) == {"en", "de"}


@pytest.mark.parametrize("language", ["en", "de"])
async def test_every_dashboard_entity_exists_after_set_up(
    hass: HomeAssistant, set_up_integration: SetUpIntegration, language: str
) -> None:
    hass.config.language = language
    add_prusalink_printer(hass)  # "Prusa MK4"
    add_moonraker_printer(hass)  # "Voron"
    await set_up_integration()

    dashboard = dashboards()[language]
    referenced = [entity_id for card in cards(dashboard) for entity_id in entity_ids(card)]
    assert {card["type"] for card in cards(dashboard)} <= CORE_CARDS
    assert all(_ENTITY_ID.fullmatch(entity_id) for entity_id in referenced), referenced
    missing = sorted({entity_id for entity_id in referenced if hass.states.get(entity_id) is None})
    assert missing == []
    # It charts the figures of the week and both example printers.
    assert len({e for e in referenced if "prusa_mk4" in e or "voron" in e}) == 4
    assert len(set(referenced)) >= 17
