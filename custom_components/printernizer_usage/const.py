"""Constants of the Printernizer Usage integration."""

from typing import Final

DOMAIN: Final = "printernizer_usage"
CONF_SHARING_ENABLED: Final = "sharing_enabled"
