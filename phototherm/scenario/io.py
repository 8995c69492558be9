"""Reading and writing scenario files (TOML).

* :func:`load_scenario` parses a file (a TOML syntax error is reported with
  its line and column), validates it and reports every problem at once;
  relative paths in the file (mesh files, the results folder) are relative
  to the file.
* :func:`scenario_from_dict` validates already-parsed data.
* :func:`dumps_toml` / :func:`save_scenario` write a scenario back; loading
  what they write gives an equal scenario.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import InputError, Problem, Problems
from .checks import ScenarioParts, check_files, check_scenario
from .errors import problems_from_validation
from .schema import FORMAT_VERSION, Scenario

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "load_scenario",
    "loads_scenario",
    "scenario_from_dict",
    "scenario_to_dict",
    "dumps_toml",
    "save_scenario",
    "parse_toml",
    "example_scenario_path",
    "EXAMPLE_SCENARIOS",
]

#: Example scenarios shipped in phototherm/scenario/examples/.
EXAMPLE_SCENARIOS = ("ptt_demo", "pdt_demo", "ptt_plan")

_CONTEXT = "invalid scenario"


# -- reading ---------------------------------------------------------------------------------------
def parse_toml(text: str, source: str = "<scenario>") -> dict:
    """Parse TOML text; a syntax error becomes an InputError naming the line and column.

    Parameters
    ----------
    text : str
        The TOML document.
    source : str
        File name used in the message.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        if match:
            line, column = int(match.group(1)), int(match.group(2))
            lines = text.splitlines()
            shown = lines[line - 1] if 0 < line <= len(lines) else ""
            where = f"{source}, line {line}, column {column}"
        else:
            shown, where = "", f"{source}, end of file"
        raise InputError("scenario is not valid TOML", [Problem(where, shown, f"valid TOML: {reason}")]) from None


def scenario_from_dict(data: Any, *, base_dir=None, source_path=None) -> Scenario:
    """Validate parsed scenario data; raise one InputError listing every problem.

    Parameters
    ----------
    data : mapping
        Nested dicts and lists, as parsed from TOML.
    base_dir : path, optional
        Folder relative paths are taken from; with it, missing mesh files are reported.
    source_path : path, optional
        The file the data came from (recorded on the scenario).
    """
    problems = Problems()
    if not isinstance(data, dict):
        problems.add("(scenario)", type(data).__name__, "a table of sections (a TOML document)")
        problems.raise_if_any(_CONTEXT)
    version = data.get("phototherm_scenario")
    if version is not None and (type(version) is not int or version != FORMAT_VERSION):
        # Another version's keys would only produce noise: stop at the version.
        problems.add("phototherm_scenario", version,
                     f"{FORMAT_VERSION}, the scenario format version this phototherm reads")
        problems.raise_if_any(_CONTEXT)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems_from_validation(exc, Scenario, data, problems=problems)
        parts = ScenarioParts(data)
        check_scenario(parts, problems)
        if base_dir is not None:
            check_files(parts, base_dir, problems)
        problems.raise_if_any(_CONTEXT)
        raise  # pragma: no cover - a ValidationError always yields problems
    check_scenario(scenario, problems)
    if base_dir is not None:
        check_files(scenario, base_dir, problems)
    problems.raise_if_any(_CONTEXT)
    scenario._source_path = Path(source_path).resolve() if source_path is not None else None
    scenario._base_dir = Path(base_dir).resolve() if base_dir is not None else None
    return scenario


def loads_scenario(text: str, *, base_dir=None) -> Scenario:
    """Parse and validate scenario TOML text (relative paths relative to ``base_dir``)."""
    return scenario_from_dict(parse_toml(text), base_dir=base_dir)


def load_scenario(path) -> Scenario:
    """Read, parse and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        The TOML file.

    Returns
    -------
    Scenario
        With ``source_path`` set; relative paths resolve against the file's folder.

    Raises
    ------
    InputError
        Missing or unreadable file, TOML syntax error (line and column), or any
        invalid content: every problem with its key path, value and expectation.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("scenario file not found", [Problem("scenario", str(path), "an existing TOML file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("scenario file unreadable", [Problem("scenario", str(path),
                                                              f"a readable UTF-8 text file ({exc})")]) from None
    data = parse_toml(text, source=str(path))
    return scenario_from_dict(data, base_dir=path.resolve().parent, source_path=path)


# -- writing ---------------------------------------------------------------------------------------
def scenario_to_dict(scenario: Scenario) -> dict:
    """Plain data of a scenario: None values and empty tables/arrays left out."""
    return _prune(scenario.model_dump(mode="python"))


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        out = {"type": value["type"]} if isinstance(value.get("type"), str) else {}
        for key, item in value.items():
            item = _prune(item)
            if item is None or (isinstance(item, (dict, list, str)) and not item):
                continue
            out[key] = item
        return out
    if isinstance(value, (list, tuple)):
        return [_prune(item) for item in value]
    return value


def dumps_toml(scenario: Scenario) -> str:
    """The scenario as TOML text (sections as tables, lists of tables as arrays of tables)."""
    data = scenario_to_dict(scenario)
    head = f"# phototherm scenario, format version {FORMAT_VERSION}\n"
    return head + _emit_table(data, []).lstrip("\n")


def save_scenario(scenario: Scenario, path) -> Path:
    """Write ``scenario`` to ``path`` as TOML, atomically.

    Relative paths in the scenario (mesh files, results folder) are rewritten
    relative to the new file's folder so that they still point to the same
    place; ``scenario.source_path`` becomes ``path``.
    """
    from ..io.atomic import atomic_write_text

    path = Path(path).resolve()
    moved = _relocated(scenario, path.parent)
    atomic_write_text(path, dumps_toml(moved))
    if moved is not scenario:
        for name in type(scenario).model_fields:
            object.__setattr__(scenario, name, getattr(moved, name))
    scenario._source_path = path
    return path


def _relocated(scenario: Scenario, new_dir: Path) -> Scenario:
    """A copy whose relative paths are re-expressed from ``new_dir`` (the same object if nothing changes)."""
    old_dir = scenario.base_dir.resolve()
    if old_dir == new_dir.resolve():
        return scenario

    def move(p: str) -> str:
        if Path(p).is_absolute():
            return p
        return Path(os.path.relpath(old_dir / p, new_dir)).as_posix()

    updates: dict[str, Any] = {"outputs": scenario.outputs.model_copy(update={"folder": move(scenario.outputs.folder)})}
    geometry = scenario.geometry
    if getattr(geometry, "type", None) == "mesh":
        surfaces = [s.model_copy(update={"file": move(s.file)}) for s in geometry.surfaces]
        file = move(geometry.file) if geometry.file is not None else None
        updates["geometry"] = geometry.model_copy(update={"file": file, "surfaces": surfaces})
    moved = scenario.model_copy(update=updates)
    moved._source_path = scenario._source_path
    moved._base_dir = scenario._base_dir
    return moved


# -- a small TOML emitter (readable tables; tomli_w inlines short tables) --------------------------------
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if any(c in text for c in ".eni") else text + ".0"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_literal(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _emit_table(table: dict, path: list[str], header: str | None = None) -> str:
    lines: list[str] = []
    nested = []
    for key, value in table.items():
        if isinstance(value, dict) and value and not _is_leaf_table(key, path):
            nested.append(("table", key, value))
        elif _is_table_array(value):
            nested.append(("array", key, value))
        else:
            lines.append(f"{_key(key)} = {_literal(value)}")
    if header and (header.startswith("[[") or lines or not nested):
        lines.insert(0, header)
    out = "\n".join(lines) + ("\n" if lines else "")
    for kind, key, value in nested:
        sub = path + [_key(key)]
        name = ".".join(sub)
        if kind == "table":
            out += "\n" + _emit_table(value, sub, f"[{name}]")
        else:
            for item in value:
                out += "\n" + _emit_table(item, sub, f"[[{name}]]")
    return out


def _is_leaf_table(key: str, path: list[str]) -> bool:
    """Small mappings written inline: a boundary face, a per-tissue concentration, the mesh tags."""
    return (path == ["boundaries"]) or key in ("concentration_uM", "tags", "probes")


def example_scenario_path(name: str) -> Path:
    """Path of a shipped example scenario (``"ptt_demo"`` or ``"pdt_demo"``)."""
    from importlib import resources

    if name not in EXAMPLE_SCENARIOS:
        raise InputError("unknown example scenario", [Problem("example", name, f"one of {', '.join(EXAMPLE_SCENARIOS)}")])
    return Path(str(resources.files("phototherm.scenario").joinpath(f"examples/{name}.toml")))
