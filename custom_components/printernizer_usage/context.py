"""Facts about this Home Assistant installation that go into the payload (never identifying)."""

import platform
import sys
from dataclasses import dataclass

from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.helpers.system_info import async_get_system_info

from .engine.identities import Identity
from .engine.payload import InstallationContext

# Shown in previews while sharing is off: the real id is only made when sharing is switched on.
PREVIEW_INSTALLATION_ID = "00000000-0000-4000-8000-000000000000"

DEPLOYMENT_MODES = {
    "Home Assistant OS": "haos",
    "Home Assistant Supervised": "supervised",
    "Home Assistant Container": "container",
    "Home Assistant Core": "core",
}

PLATFORMS = {"linux": "linux", "darwin": "darwin", "win32": "windows", "cygwin": "windows"}


@dataclass(frozen=True, slots=True)
class HostFacts:
    """What the payload says about the host; gathered once per set-up."""

    integration_version: str
    ha_version: str
    platform: str
    deployment_mode: str
    country_code: str
    python_version: str

    def context(
        self, identity: Identity | None, *, printernizer_server: bool = False
    ) -> InstallationContext:
        """The payload context for `identity` (a placeholder id when sharing is off)."""
        return InstallationContext(
            installation_id=identity.installation_id if identity else PREVIEW_INSTALLATION_ID,
            integration_version=self.integration_version,
            ha_version=self.ha_version,
            platform=self.platform,
            deployment_mode=self.deployment_mode,
            country_code=self.country_code,
            python_version=self.python_version,
            first_seen=identity.first_week if identity else None,
            feature_usage={"printernizer_server": printernizer_server},
        )


def country_code(configured: str | None) -> str:
    """Home Assistant's configured country as ISO 3166 alpha-2, `XX` when unset."""
    if configured and len(configured) == 2 and configured.isalpha():
        return configured.upper()
    return "XX"


async def async_host_facts(hass: HomeAssistant, integration_version: str) -> HostFacts:
    """Read the installation type, versions and country from Home Assistant."""
    system_info = await async_get_system_info(hass)
    return HostFacts(
        integration_version=integration_version,
        ha_version=HA_VERSION,
        platform=PLATFORMS.get(sys.platform, sys.platform[:32]),
        deployment_mode=DEPLOYMENT_MODES.get(str(system_info.get("installation_type")), "unknown"),
        country_code=country_code(hass.config.country),
        python_version=platform.python_version(),
    )
