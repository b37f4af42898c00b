"""The JSON Schema of ``scenario.toml``, generated from :class:`scenarios.Scenario`.

``scenarios/scenario.schema.json`` is the published copy (a test keeps it in sync with the
model). Regenerate it after changing the model::

    python -m scenarios.schema            # writes scenarios/scenario.schema.json
    python -m scenarios.schema --check    # exit 1 when the published copy is stale
    python -m scenarios.schema -o my.json # write elsewhere

Editors check a scenario file as it is typed: Taplo (CLI, LSP) and VS Code's "Even Better TOML"
read a ``#:schema`` directive on the first line of the file::

    #:schema ../../scenario.schema.json

(a path relative to the TOML file, or a URL), or a Taplo ``[[rule]]`` in ``.taplo.toml``
mapping ``**/scenario.toml`` to the schema. Keys are the file's (``duration``, not
``duration_ns``); durations are strings with a unit, checked by pattern; the full checks
(CRS, multiples of the step, files that exist) are the loader's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_PATH", "main", "scenario_json_schema", "schema_text", "write_schema"]

#: the published schema, shipped with the package
SCHEMA_PATH = Path(__file__).resolve().parent / "scenario.schema.json"


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a ``scenario.toml`` document."""
    from scenarios._model import Scenario

    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    _drop_property_titles(schema)
    # [demand] may be left out (the loader fills it in: end = the duration)
    schema["required"] = [k for k in schema["required"] if k != "demand"]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            **schema, "title": "v2x-testbed scenario.toml",
            "description": "A scenario of the v2x-testbed (one folder, one scenario.toml). "
                           "Durations are strings with a unit (\"100 ms\"), at most 24 h. "
                           "Key table and limits: the docstring of scenarios/_model.py."}


def _drop_property_titles(node: Any) -> None:
    """Leave out pydantic's titles of properties ("Speed Kmh"): the keys say it."""
    if isinstance(node, dict):
        for prop in (node.get("properties") or {}).values():
            if isinstance(prop, dict):
                prop.pop("title", None)
        for value in node.values():
            _drop_property_titles(value)
    elif isinstance(node, list):
        for value in node:
            _drop_property_titles(value)


def schema_text() -> str:
    """The schema as the published file's text (2-space indent, UTF-8, final newline)."""
    return json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: str | Path = SCHEMA_PATH) -> Path:
    """Write the schema to ``path`` (default the published copy) and return the path."""
    path = Path(path)
    path.write_text(schema_text(), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m scenarios.schema [-o PATH] [--check]``; exit 0, or 1 when stale."""
    parser = argparse.ArgumentParser(prog="python -m scenarios.schema",
                                     description="Write the JSON Schema of scenario.toml.")
    parser.add_argument("-o", "--out", type=Path, default=SCHEMA_PATH,
                        help=f"where to write it (default {SCHEMA_PATH})")
    parser.add_argument("--check", action="store_true",
                        help="only check that the file is up to date")
    args = parser.parse_args(argv)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != schema_text():
            print(f"{args.out} is stale: run python -m scenarios.schema", file=sys.stderr)
            return 1
        return 0
    print(write_schema(args.out))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
