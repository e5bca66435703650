"""The optional Printernizer server data source, against an HTTP server on 127.0.0.1 that answers like
the Printernizer API reference describes (credentials, paths and names included, as the real one does)."""

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.printernizer_usage.const import (
    CONF_PRINTERNIZER_URL,
    CONF_RAW_RETENTION_DAYS,
    CONF_RECEIVER_URL,
    CONF_ROTATE_YEARLY,
    CONF_SHARING_ENABLED,
    CONF_SUBMIT_KEY,
    SECTION_ADVANCED,
)

from .conftest import SUBMIT_KEY, SetUpIntegration
from .helpers import time_passes

SECRETS = (
    "/data/printernizer/library",
    "/share/watch",
    "bambu-access-code-12345678",
    "5e0f1a2b-printernizer-installation",
    "My Benchy.3mf",
)
# Sharing is switched on on 2026-11-02: the first week shared is week 46 (2026-11-09 to 11-16).
WEEK_46_DOWNLOAD = "2026-11-10T08:00:00"  # naive UTC, as Printernizer stores them
WEEK_46_UPLOAD = "2026-11-15T23:59:00"
WEEK_47_DOWNLOAD = "2026-11-16T00:00:01"
WEEK_46_SENT = "2026-11-17T10:00:00+00:00"


def _printernizer_app() -> web.Application:
    async def health(_request: web.Request) -> web.Response:
        return web.json_response(
            {"status": "healthy", "version": "2.42.0", "environment": "production"}
        )

    async def application(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                "job_creation_auto_create": True,
                "enable_upload": False,
                "library_enabled": True,
                "timelapse_enabled": False,
                "library_path": SECRETS[0],
                "database_path": "/data/printernizer/printernizer.db",
                "cors_origins": "http://192.168.1.20:8123",
            }
        )

    async def watch_folders(_request: web.Request) -> web.Response:
        return web.json_response({"enabled": True, "watch_folders": [SECRETS[1]]})

    async def export(_request: web.Request) -> web.Response:
        events = [
            {"event_type": "file_downloaded", "timestamp": WEEK_46_DOWNLOAD, "metadata": {}},
            {"event_type": "file_downloaded", "timestamp": WEEK_46_DOWNLOAD, "metadata": {}},
            {"event_type": "file_uploaded", "timestamp": WEEK_46_UPLOAD, "metadata": {}},
            {"event_type": "file_downloaded", "timestamp": WEEK_47_DOWNLOAD, "metadata": {}},
            {"event_type": "job_created", "timestamp": WEEK_46_DOWNLOAD, "metadata": {}},
            {"event_type": "file_uploaded", "timestamp": "not a time", "metadata": {}},
            "garbage",
        ]
        return web.json_response(
            {"events": events, "settings": {"installation_id": SECRETS[3]}},
            headers={"Content-Disposition": "attachment; filename=usage-statistics-export.json"},
        )

    async def printers(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                "printers": [
                    {"name": SECRETS[4], "connection_config": {"access_code": SECRETS[2]}}
                ],
                "total_count": 1,
            }
        )

    app = web.Application()
    app.router.add_get("/api/v1/health", health)
    app.router.add_get("/api/v1/settings/application", application)
    app.router.add_get("/api/v1/settings/watch-folders", watch_folders)
    app.router.add_get("/api/v1/usage-stats/export", export)
    app.router.add_get("/api/v1/printers", printers)
    return app


@pytest.fixture
async def printernizer(socket_enabled: None) -> AsyncIterator[str]:
    runner = web.AppRunner(_printernizer_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def _options(hass: HomeAssistant, entry: MockConfigEntry, server: str) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SHARING_ENABLED: entry.options[CONF_SHARING_ENABLED],
            CONF_RAW_RETENTION_DAYS: 90,
            CONF_ROTATE_YEARLY: False,
            CONF_PRINTERNIZER_URL: server,
            SECTION_ADVANCED: {
                CONF_RECEIVER_URL: entry.data[CONF_RECEIVER_URL],
                CONF_SUBMIT_KEY: SUBMIT_KEY,
            },
        },
    )
    await hass.async_block_till_done()
    return dict(result)


async def test_the_server_address_gets_port_8000_unless_given(
    hass: HomeAssistant, set_up_integration: SetUpIntegration
) -> None:
    entry = await set_up_integration()
    result = await _options(hass, entry, "ftp://printernizer.local")
    assert result["errors"] == {CONF_PRINTERNIZER_URL: "invalid_printernizer_url"}

    result = await _options(hass, entry, " printernizer.local/ ")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_PRINTERNIZER_URL] == "http://printernizer.local:8000"
    result = await _options(hass, entry, "https://192.168.1.20:8443")
    assert entry.options[CONF_PRINTERNIZER_URL] == "https://192.168.1.20:8443"
    result = await _options(hass, entry, "")
    assert entry.options[CONF_PRINTERNIZER_URL] == ""
    assert entry.runtime_data.scheduler.printernizer_server is None


async def test_weekly_payload_includes_the_servers_aggregates_and_nothing_else(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    printernizer: str,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    real_now = dt_util.utcnow()
    freezer.move_to("2026-11-02T10:00:00+00:00")
    entry = await set_up_integration(sharing=True, **{CONF_PRINTERNIZER_URL: printernizer})
    await time_passes(hass, freezer, WEEK_46_SENT)

    (item,) = await entry.runtime_data.engine.outbox.items()
    payload = item.payload
    assert payload["installation"]["data_source"] == "home_assistant+printernizer"
    usage = payload["usage_stats"]
    assert (usage["file_count"], usage["upload_count"]) == (2, 1)
    assert usage["feature_usage"] == {
        "printernizer_auto_job_creation": True,
        "printernizer_library": True,
        "printernizer_server": True,
        "printernizer_timelapse": False,
        "printernizer_upload": False,
        "printernizer_watch_folders": True,
    }
    freezer.move_to(real_now)  # the HTTP client's access token was issued at real time
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    kept = json.dumps([payload, diagnostics, await entry.runtime_data.engine.export_all()])
    for secret in SECRETS:
        assert secret not in kept
        assert secret not in caplog.text
    assert printernizer not in json.dumps(diagnostics)


async def test_an_unreachable_server_leaves_the_week_to_home_assistant(
    hass: HomeAssistant,
    set_up_integration: SetUpIntegration,
    freezer: FrozenDateTimeFactory,
    unreachable_receiver_url: str,
    socket_enabled: None,
) -> None:
    freezer.move_to("2026-11-02T10:00:00+00:00")
    entry = await set_up_integration(
        sharing=True, **{CONF_PRINTERNIZER_URL: unreachable_receiver_url}
    )
    await time_passes(hass, freezer, WEEK_46_SENT)
    (item,) = await entry.runtime_data.engine.outbox.items()
    assert item.payload["installation"]["data_source"] == "home_assistant"
    usage = item.payload["usage_stats"]
    assert (usage["file_count"], usage["upload_count"]) == (None, None)
    assert usage["feature_usage"] == {"printernizer_server": True}
