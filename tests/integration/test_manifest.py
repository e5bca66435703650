"""The manifest agrees with the quality scale it claims."""

import json
from pathlib import Path

from homeassistant.util.yaml import load_yaml_dict

COMPONENT = Path(__file__).parents[2] / "custom_components" / "printernizer_usage"


def _status(rule: object) -> str:
    return str(rule["status"] if isinstance(rule, dict) else rule)


def test_the_manifest_backs_what_the_quality_scale_claims() -> None:
    manifest = json.loads((COMPONENT / "manifest.json").read_text(encoding="utf-8"))
    rules = load_yaml_dict(str(COMPONENT / "quality_scale.yaml"))["rules"]
    if _status(rules["integration-owner"]) == "done":
        assert manifest["codeowners"], "integration-owner is done: codeowners must name someone"
    if _status(rules["config-flow"]) == "done":
        assert manifest["config_flow"] is True
    assert manifest["requirements"] == ["aiosqlite==0.22.1"]  # dependency-transparency
