"""Fixtures for the Home Assistant integration tests (real Home Assistant core via PHCC)."""

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/printernizer_usage."""
