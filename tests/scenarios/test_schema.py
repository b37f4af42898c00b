"""The published JSON Schema of scenario.toml is the model's."""

from __future__ import annotations

import tomllib
from pathlib import Path

from scenarios import LIBRARY
from scenarios.schema import SCHEMA_PATH, main, scenario_json_schema, schema_text
from v2x.apps import app_names


def test_published_schema_is_in_sync_with_the_model() -> None:
    # regenerate with: python -m scenarios.schema
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()
    assert main(["--check"]) == 0


def test_check_reports_a_stale_copy(tmp_path: Path) -> None:
    stale = tmp_path / "s.json"
    stale.write_text("{}", encoding="utf-8")
    assert main(["--check", "-o", str(stale)]) == 1
    assert main(["-o", str(stale)]) == 0 and main(["--check", "-o", str(stale)]) == 0


def test_schema_names_the_file_keys_and_refuses_unknown_ones() -> None:
    schema = scenario_json_schema()
    raw = tomllib.loads((LIBRARY / "xiqing-south-station" / "scenario.toml").read_text(
        encoding="utf-8"))
    assert set(raw) <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["id", "start", "duration", "geo"]
    # durations are strings with a unit; the key is the file's, not the attribute's
    assert schema["properties"]["duration"]["type"] == "string"
    def keys(node: object) -> set[str]:
        if isinstance(node, dict):
            found = set(node.get("properties") or {})
            return found.union(*(keys(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(keys(v) for v in node))
        return set()

    assert not [k for k in keys(schema) if k.endswith("_ns")]
    assert {"at", "hold", "period", "reaction_time", "spat_period"} <= keys(schema)
    # every registered application (the Day-1 set grows: not a fixed list)
    assert set(schema["properties"]["applications"]["properties"]) == set(app_names())
    assert {"ebw", "fcw", "hlw", "rlvw", "slw", "icw", "lta", "vrucw", "glosa", "ivs", "tjw",
            "vnfp", "bsw", "lcw", "dnpw", "clw", "avw", "evw"} <= set(app_names())
    kinds = schema["properties"]["network"]["discriminator"]["mapping"]
    assert {"grid", "path"} <= set(kinds)
