"""The scenario format as JSON Schema, for editors (e.g. Even Better TOML / Taplo in VS Code).

The schema is generated from the pydantic models, so it documents every key
with its unit (in ``description``) and its allowed values. It checks each
value on its own; the checks that involve several values
(:mod:`phototherm.scenario.checks`) need ``phototherm check``.
"""

from __future__ import annotations

import json
from pathlib import Path

from .schema import FORMAT_VERSION, Scenario

__all__ = ["scenario_json_schema", "write_json_schema", "SCHEMA_ID"]

#: Identifier of the schema document.
SCHEMA_ID = f"https://phototherm.invalid/schemas/scenario-v{FORMAT_VERSION}.json"


def scenario_json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of scenario format version 1, as a dict."""
    schema = Scenario.model_json_schema(mode="validation")
    out = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"phototherm scenario, format version {FORMAT_VERSION}",
    }
    out.update({k: v for k, v in schema.items() if k != "title"})
    return out


def write_json_schema(path) -> Path:
    """Write :func:`scenario_json_schema` to ``path`` (atomically) and return the path."""
    from ..io.atomic import atomic_write_text

    return atomic_write_text(Path(path), json.dumps(scenario_json_schema(), indent=2) + "\n")
