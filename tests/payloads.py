"""The shared payload example files that pin the contract for both sides."""

import json
from pathlib import Path
from typing import Any

PAYLOAD_DIR = Path(__file__).parent / "fixtures" / "payloads"


def load_payloads(kind: str) -> dict[str, dict[str, Any]]:
    """Return {file stem: payload} for `valid` or `invalid` examples."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((PAYLOAD_DIR / kind).glob("*.json"))
    }
