"""NumPy archives, probe time series (CSV) and JSON summaries.

Every writer here is atomic (see :mod:`phototherm.io.atomic`): an interrupted
run leaves either the previous file or none, never a truncated one.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from ..errors import Problems
from ..grid import Grid
from .atomic import atomic_file, atomic_write_text

__all__ = ["write_npz", "read_npz", "write_probe_csv", "write_json", "json_text"]

#: NPZ keys that every archive has besides its fields.
_NPZ_REQUIRED = ("grid_shape", "grid_spacing_m", "grid_origin_m", "units")

#: NPZ keys that field names may not use.
_NPZ_RESERVED = _NPZ_REQUIRED + ("metadata",)


# -- NPZ -----------------------------------------------------------------------
def write_npz(
    path: str | os.PathLike,
    grid: Grid,
    fields: Mapping[str, np.ndarray],
    *,
    units: Mapping[str, str],
    metadata: Any = None,
) -> Path:
    """Write fields and their grid to a compressed NumPy archive, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file, conventionally ending in ``.npz`` (no suffix is added).
    grid : Grid
        The voxel grid.
    fields : mapping of str to numpy.ndarray
        Field name -> array of shape ``grid.shape`` (any numeric or bool dtype).
    units : mapping of str to str
        Field name -> unit, one entry for every field (``"1"`` for
        dimensionless quantities).
    metadata : JSON-serialisable, optional
        Anything :func:`write_json` accepts, e.g. the scenario and program
        version.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        A field of the wrong shape or with a reserved name, a missing or
        surplus unit, or metadata that cannot be written as JSON.

    Notes
    -----
    The archive holds one array per field under its own name, plus
    ``grid_shape`` (int64, 3), ``grid_spacing_m`` and ``grid_origin_m``
    (float64, 3, corner origin), ``units`` (a JSON object as a 0-d string
    array) and, when given, ``metadata`` (JSON, 0-d string array). It loads
    with ``numpy.load(path)`` and needs no pickle support.
    """
    problems = Problems()
    arrays = {}
    for name, value in fields.items():
        array = np.asarray(value)
        ok = problems.check(
            isinstance(name, str) and name != "" and name not in _NPZ_RESERVED,
            "fields",
            name,
            f"non-empty string names other than {', '.join(_NPZ_RESERVED)}",
        )
        ok &= problems.check(
            array.shape == grid.shape,
            f"fields[{name!r}].shape",
            array.shape,
            f"the grid shape {grid.shape}",
        )
        ok &= problems.check(
            array.dtype.kind in "biuf",
            f"fields[{name!r}].dtype",
            str(array.dtype),
            "a real numeric or bool dtype",
        )
        if ok:
            arrays[name] = array
    for name in fields:
        unit = units.get(name)
        problems.check(isinstance(unit, str), f"units[{name!r}]", unit, "a unit string")
    for name in units:
        problems.check(name in fields, "units", name, f"names of written fields {sorted(fields)}")
    extras = {"units": json.dumps(dict(units))}
    if metadata is not None:
        extras["metadata"] = json.dumps(_jsonable(metadata, "metadata", problems))
    problems.raise_if_any("cannot write the NPZ archive")

    entries = {
        **arrays,
        "grid_shape": np.array(grid.shape, dtype=np.int64),
        "grid_spacing_m": np.array(grid.spacing, dtype=np.float64),
        "grid_origin_m": np.array(grid.origin, dtype=np.float64),
        **{key: np.array(text) for key, text in extras.items()},
    }
    # What numpy.savez_compressed does, without its keyword arguments
    # (``file``, ``allow_pickle``) colliding with field names.
    with atomic_file(path) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for key, array in entries.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    return Path(path)


def read_npz(path: str | os.PathLike) -> tuple[Grid, dict[str, np.ndarray], dict[str, str], Any]:
    """Read an archive written by :func:`write_npz`.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.npz`` file.

    Returns
    -------
    grid : Grid
        The grid (spacing and corner origin in metres).
    fields : dict of str to numpy.ndarray
        Every field, in its stored dtype.
    units : dict of str to str
        Field name -> unit.
    metadata : object or None
        The decoded JSON metadata, ``None`` if none was written.

    Raises
    ------
    InputError
        If the grid or unit entries are missing.
    """
    with np.load(path, allow_pickle=False) as archive:
        contents = {key: archive[key] for key in archive.files}
    problems = Problems()
    for key in _NPZ_REQUIRED:
        problems.check(key in contents, str(path), sorted(contents), f"an archive with a {key!r} entry")
    problems.raise_if_any("not an archive written by phototherm.io.tables.write_npz")

    grid = Grid(
        shape=contents.pop("grid_shape").tolist(),
        spacing=contents.pop("grid_spacing_m").tolist(),
        origin=contents.pop("grid_origin_m").tolist(),
    )
    units = json.loads(str(contents.pop("units")))
    metadata = json.loads(str(contents.pop("metadata"))) if "metadata" in contents else None
    return grid, contents, units, metadata


# -- probe CSV -----------------------------------------------------------------
def write_probe_csv(
    path: str | os.PathLike,
    times_s: Sequence[float],
    probes: Sequence[Any],
    *,
    quantity: str = "temperature",
    unit: str = "degC",
) -> Path:
    """Write probe time series as CSV, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file, conventionally ending in ``.csv``.
    times_s : sequence of float
        Sample times [s], shape ``(n,)``.
    probes : sequence of mapping or object
        Each with ``name`` (str; no comma, quote or line break),
        ``index`` (voxel ``(i, j, k)``), ``position_m`` (voxel centre
        ``(x, y, z)`` [m]) and ``values`` (shape ``(n,)``, in ``unit``), as
        keys or attributes.
    quantity : str, optional
        What the values are, for the comment header.
    unit : str, optional
        Unit of the values; also the suffix of the column names.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        Missing probe attributes, duplicate or unusable names, value series
        whose length differs from ``times_s``.

    Notes
    -----
    Layout: ``#`` comment lines (quantity, unit, each probe's voxel index and
    centre in mm), one header row ``time_s,<name>_<unit>,...``, then one row
    per sample with shortest round-trip decimal numbers. The header row is the
    first line that does not start with ``#``, so it reads with
    ``pandas.read_csv(path, comment="#")`` or, counting the comment lines,
    ``numpy.loadtxt(path, delimiter=",", skiprows=n_comments + 1)``.
    """
    problems = Problems()
    times = np.asarray(times_s, dtype=float)
    problems.check(times.ndim == 1, "times_s.shape", times.shape, "a 1-D sequence of times [s]")
    problems.check(_is_csv_token(unit), "unit", unit, _CSV_TOKEN)
    one_line = isinstance(quantity, str) and not any(c in quantity for c in "\r\n")
    problems.check(one_line, "quantity", quantity, "one line of text")
    records = [_probe_record(n, probe, times.shape, problems) for n, probe in enumerate(probes)]
    counts = Counter(r["name"] for r in records if r is not None)
    for name in sorted(name for name, count in counts.items() if count > 1):
        problems.add("probes[].name", name, "unique probe names")
    problems.raise_if_any("cannot write the probe CSV")

    lines = [
        "# phototherm probe time series",
        f"# quantity: {quantity}",
        f"# unit: {unit}",
        "# time unit: s",
    ]
    for r in records:
        i, j, k = r["index"]
        x, y, z = (1e3 * c for c in r["position_m"])
        lines.append(
            f"# probe {r['name']}: voxel (i, j, k) = ({i}, {j}, {k}),"
            f" centre (x, y, z) = ({x:.6g}, {y:.6g}, {z:.6g}) mm"
        )
    lines.append(",".join(["time_s"] + [f"{r['name']}_{unit}" for r in records]))
    columns = np.column_stack([times] + [r["values"] for r in records])
    lines.extend(",".join(map(repr, row)) for row in columns.tolist())
    return atomic_write_text(path, "\n".join(lines) + "\n")


def _probe_record(n: int, probe: Any, shape: tuple, problems: Problems) -> dict | None:
    """Extract and check one probe's name, index, position [m] and values."""
    keys = ("name", "index", "position_m", "values")
    get = probe.get if isinstance(probe, Mapping) else lambda key: getattr(probe, key, None)
    found = {key: get(key) for key in keys}
    missing = [key for key, value in found.items() if value is None]
    if missing:
        problems.add(f"probes[{n}]", probe, f"values for {', '.join(missing)} (keys or attributes)")
        return None
    name = found["name"]
    index = np.asarray(found["index"])
    position = np.asarray(found["position_m"], dtype=float)
    values = np.asarray(found["values"], dtype=float)
    ok = problems.check(_is_csv_token(name), f"probes[{n}].name", name, _CSV_TOKEN)
    ok &= problems.check(
        index.shape == (3,) and index.dtype.kind in "iu", f"probes[{n}].index", index, "(i, j, k)"
    )
    ok &= problems.check(position.shape == (3,), f"probes[{n}].position_m", position, "(x, y, z) [m]")
    ok &= problems.check(
        values.shape == shape, f"probes[{n}].values.shape", values.shape, f"{shape}, as times_s"
    )
    if not ok:
        return None
    return {"name": name, "index": index.tolist(), "position_m": position.tolist(), "values": values}


_CSV_TOKEN = "a non-empty string without commas, quotes or line breaks"


def _is_csv_token(text: Any) -> bool:
    """Whether ``text`` can go into a CSV header cell unquoted."""
    return isinstance(text, str) and text != "" and not any(c in text for c in ',"\r\n')


# -- JSON ----------------------------------------------------------------------
def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (UTF-8), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file.
    obj : object
        Built from dicts (string keys), lists, tuples, str, int, float, bool,
        None, numpy scalars and arrays, and paths. Mapping order is kept.
        NaN and infinite floats are written as ``null``.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        Naming the key path of every value that has no JSON form.
    """
    return atomic_write_text(path, json_text(obj))


def json_text(obj: Any) -> str:
    """``obj`` as indented JSON text ending in a newline, as :func:`write_json` writes it.

    Raises
    ------
    InputError
        Naming the key path of every value that has no JSON form.
    """
    problems = Problems()
    data = _jsonable(obj, "obj", problems)
    problems.raise_if_any("cannot write JSON")
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _jsonable(obj: Any, where: str, problems: Problems) -> Any:
    """Convert ``obj`` to plain JSON types, recording what cannot be converted."""
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    elif isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, Mapping):
        out = {}
        for key, value in obj.items():
            if problems.check(isinstance(key, str), where, key, "string keys"):
                out[key] = _jsonable(value, f"{where}[{key!r}]", problems)
        return out
    if isinstance(obj, (list, tuple)):
        return [_jsonable(value, f"{where}[{n}]", problems) for n, value in enumerate(obj)]
    problems.add(where, obj, "a JSON value (dict, list, str, number, bool, None, numpy, path)")
    return None
