"""Pin the development Home Assistant's HTTP server to 127.0.0.1:8123 through its UI-managed storage.

Home Assistant 2026.x keeps the HTTP configuration in `.storage/http` (a confirmed `stable` slot and an
unconfirmed `pending` one). An `http:` section in configuration.yaml is migrated into `pending` on the
first start, which the frontend then shows as "Confirm new HTTP server configuration … will
automatically revert" (reverting would make Home Assistant listen on every interface). Writing the
setting straight into the `stable` slot, with the YAML migration marked done and no `http:` in the YAML,
starts Home Assistant on 127.0.0.1 with nothing to confirm and no repair issue.

Usage (scripts/run): `python dev/ha_http_config.py CONFIG_DIR`. Keeps any other stored HTTP setting.
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

from homeassistant.components.http.config import (
    HTTP_CONFIG_CREATED_AT,
    HTTP_CONFIG_ERROR,
    HTTP_CONFIG_ERROR_MESSAGE,
    HTTP_STORAGE_SCHEMA,
    KEY_PENDING,
    KEY_STABLE,
    KEY_YAML_MIGRATION_DONE,
    STORAGE_KEY,
    STORAGE_MINOR_VERSION,
    STORAGE_VERSION,
)
from homeassistant.util import dt as dt_util

HOST = "127.0.0.1"
PORT = 8123
META = (HTTP_CONFIG_CREATED_AT, HTTP_CONFIG_ERROR, HTTP_CONFIG_ERROR_MESSAGE)


def pinned(stored: dict[str, Any] | None) -> dict[str, Any]:
    """The store's data with `stable` listening on HOST:PORT, nothing pending, YAML migrated."""
    stable: dict[str, Any] = dict((stored or {}).get(KEY_STABLE, {}))
    settings = {key: value for key, value in stable.items() if key not in META}
    settings.update({"server_host": [HOST], "server_port": PORT})
    return {
        KEY_STABLE: {
            **HTTP_STORAGE_SCHEMA(settings),
            HTTP_CONFIG_CREATED_AT: stable.get(HTTP_CONFIG_CREATED_AT)
            or dt_util.utcnow().isoformat(),
            HTTP_CONFIG_ERROR: None,
            HTTP_CONFIG_ERROR_MESSAGE: None,
        },
        KEY_PENDING: None,
        KEY_YAML_MIGRATION_DONE: True,
    }


def main(config_dir: Path) -> None:
    path = config_dir / ".storage" / STORAGE_KEY
    stored = json.loads(path.read_text()) if path.exists() else None
    data = pinned(stored["data"] if stored else None)
    if stored and stored.get("data") == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "version": STORAGE_VERSION,
        "minor_version": STORAGE_MINOR_VERSION,
        "key": STORAGE_KEY,
        "data": data,
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2))
    os.chmod(temporary, 0o600)
    temporary.replace(path)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
