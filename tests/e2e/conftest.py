"""Fixtures for the end-to-end tests: Home Assistant's real core (PHCC) and the real receiver process."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.receiver_server import RunningReceiver, run_receiver

SUBMIT_KEY = "e2e-submit-key-0123456789abcdef"
ADMIN_KEY = "e2e-admin-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/printernizer_usage."""


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    return hass_tmp_config_dir


def receiver_env() -> dict[str, str]:
    return {
        "RECEIVER_ENVIRONMENT": "development",
        "RECEIVER_SUBMIT_KEYS": SUBMIT_KEY,
        "RECEIVER_ADMIN_KEYS": ADMIN_KEY,
        "RECEIVER_CLIENT_RATE_LIMIT_PER_MINUTE": "0",
        "RECEIVER_RATE_LIMIT_PER_HOUR": "1000",
    }


@pytest.fixture
def receiver(database_url: str, tmp_path: Path) -> Iterator[RunningReceiver]:
    """The receiver (`python -m receiver serve`) on SQLite and on PostgreSQL."""
    with run_receiver(database_url, tmp_path, env=receiver_env()) as running:
        yield running
