"""VTK XML ImageData (``.vti``) output of cell-centred fields.

phototherm's voxels map one-to-one onto the *cells* of a VTK ImageData: the
image has ``(nx + 1, ny + 1, nz + 1)`` points, its ``Origin`` is the grid's
outer corner and each field is cell data. ParaView and PyVista therefore place
every value on the right voxel with no half-voxel shift.

Two conventions differ between phototherm and VTK and are handled here only:

* **Ordering.** phototherm arrays have shape ``(nx, ny, nz)`` in C order
  (z fastest); VTK stores values with x fastest. :func:`to_vtk_order` and
  :func:`from_vtk_order` are the single adapter between the two.
* **Units.** VTK has no notion of units. :func:`write_vti` stores the unit of
  field ``name`` as a one-string array ``unit:<name>`` in the dataset's
  ``<FieldData>``, next to any extra strings passed as ``field_data``. VTK,
  ParaView and PyVista read them back (``mesh.field_data["unit:temperature"]``
  is ``["degC"]``).

Files are written in VTK XML format version 1.0: little-endian, 64-bit block
headers, inline base64 binary data, zlib-compressed by default.
"""

from __future__ import annotations

import base64
import os
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path, PurePath
from typing import Mapping, Sequence

import numpy as np

from ..errors import Problems
from ..grid import Grid
from .atomic import atomic_write_bytes

__all__ = ["write_vti", "read_vti", "to_vtk_order", "from_vtk_order", "to_pyvista", "write_pvd"]

#: Prefix of the field-data string array holding a cell field's unit.
UNIT_PREFIX = "unit:"

#: numpy dtype -> VTK XML type name (bool is stored as UInt8).
_VTK_TYPES = {
    np.dtype(np.float32): "Float32",
    np.dtype(np.float64): "Float64",
    np.dtype(np.int8): "Int8",
    np.dtype(np.int16): "Int16",
    np.dtype(np.int32): "Int32",
    np.dtype(np.int64): "Int64",
    np.dtype(np.uint8): "UInt8",
    np.dtype(np.uint16): "UInt16",
    np.dtype(np.uint32): "UInt32",
    np.dtype(np.uint64): "UInt64",
}
_NUMPY_TYPES = {name: dtype for dtype, name in _VTK_TYPES.items()}

_HEADER = np.dtype("<u8")  # header_type="UInt64"
_BLOCK_SIZE = 1 << 15  # uncompressed bytes per zlib block (VTK's default)
_ZLIB = "vtkZLibDataCompressor"


# -- ordering adapter ----------------------------------------------------------
def to_vtk_order(array: np.ndarray) -> np.ndarray:
    """Flatten an ``(nx, ny, nz)`` array into VTK's x-fastest order.

    Parameters
    ----------
    array : numpy.ndarray
        Three-dimensional array indexed ``[i, j, k]`` (any memory layout).

    Returns
    -------
    numpy.ndarray
        One-dimensional array of ``nx * ny * nz`` values in which element
        ``i + nx * (j + ny * k)`` is ``array[i, j, k]``.

    Raises
    ------
    InputError
        If ``array`` is not three-dimensional.
    """
    array = np.asarray(array)
    problems = Problems()
    problems.check(array.ndim == 3, "array.shape", array.shape, "three axes (nx, ny, nz)")
    problems.raise_if_any("cannot convert to VTK order")
    return array.ravel(order="F")


def from_vtk_order(flat: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`to_vtk_order`.

    Parameters
    ----------
    flat : numpy.ndarray
        ``nx * ny * nz`` values, x fastest.
    shape : tuple of 3 int
        ``(nx, ny, nz)``.

    Returns
    -------
    numpy.ndarray
        C-contiguous array of ``shape`` with ``result[i, j, k]`` equal to
        ``flat[i + nx * (j + ny * k)]``.

    Raises
    ------
    InputError
        If ``shape`` does not have three axes or ``flat`` has the wrong size.
    """
    flat = np.asarray(flat)
    shape = tuple(int(n) for n in shape)
    problems = Problems()
    problems.check(len(shape) == 3, "shape", shape, "three axes (nx, ny, nz)")
    problems.check(
        flat.ndim == 1 and flat.size == int(np.prod(shape)),
        "flat.shape",
        flat.shape,
        f"a 1-D array of {int(np.prod(shape))} values for shape {shape}",
    )
    problems.raise_if_any("cannot convert from VTK order")
    return np.ascontiguousarray(flat.reshape(shape, order="F"))


# -- writing -------------------------------------------------------------------
def write_vti(
    path: str | os.PathLike,
    grid: Grid,
    cell_fields: Mapping[str, np.ndarray],
    *,
    units: Mapping[str, str] | None = None,
    field_data: Mapping[str, str] | None = None,
    compress: bool = True,
) -> Path:
    """Write cell-centred fields to a VTK XML ImageData file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file, conventionally ending in ``.vti``.
    grid : Grid
        The voxel grid; its corner ``origin`` [m] and ``spacing`` [m] become
        the image's ``Origin`` and ``Spacing``.
    cell_fields : mapping of str to numpy.ndarray
        Field name -> array of shape ``grid.shape``. Supported dtypes: float32,
        float64, (u)int8/16/32/64 and bool (stored as uint8 0/1).
    units : mapping of str to str, optional
        Field name -> unit, e.g. ``{"temperature": "degC", "cem43": "min"}``.
        Stored as field-data strings ``unit:<name>``.
    field_data : mapping of str to str, optional
        Further named strings to store in the file's field data, e.g.
        ``{"phototherm_version": "0.1.0"}``. Names may not start with
        ``"unit:"``.
    compress : bool, optional
        zlib-compress the data (default) or store it raw.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        A field of the wrong shape or an unsupported dtype, a unit for a field
        that is not written, a non-string unit or field-data value, or a
        reserved field-data name. Every problem is reported.
    """
    arrays = _checked_cell_fields(grid, cell_fields)
    strings = _checked_strings(arrays, units or {}, field_data or {})

    root = ET.Element(
        "VTKFile",
        type="ImageData",
        version="1.0",
        byte_order="LittleEndian",
        header_type="UInt64",
    )
    if compress:
        root.set("compressor", _ZLIB)
    extent = " ".join(f"0 {n}" for n in grid.shape)
    image = ET.SubElement(
        root, "ImageData", WholeExtent=extent, Origin=_floats(grid.origin), Spacing=_floats(grid.spacing)
    )
    if strings:
        fd = ET.SubElement(image, "FieldData")
        for name, value in strings.items():
            raw = value.encode("utf-8") + b"\0"
            element = ET.SubElement(
                fd, "Array", type="String", Name=name, NumberOfTuples="1", format="binary"
            )
            element.text = _encode(raw, compress)
    piece = ET.SubElement(image, "Piece", Extent=extent)
    ET.SubElement(piece, "PointData")
    cd = ET.SubElement(piece, "CellData")
    for name, array in arrays.items():
        flat = to_vtk_order(array).astype(array.dtype.newbyteorder("<"), copy=False)
        element = ET.SubElement(cd, "DataArray", type=_VTK_TYPES[array.dtype], Name=name, format="binary")
        element.text = _encode(flat.tobytes(), compress)

    ET.indent(root)
    xml = b'<?xml version="1.0"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"
    return atomic_write_bytes(path, xml)


def _checked_cell_fields(grid: Grid, cell_fields: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Validate the fields; return them as native-endian arrays, bool as uint8."""
    problems = Problems()
    problems.check(len(cell_fields) > 0, "cell_fields", dict(cell_fields), "at least one field")
    arrays = {}
    for name, value in cell_fields.items():
        array = np.asarray(value)
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        array = array.astype(array.dtype.newbyteorder("="), copy=False)
        ok = problems.check(
            isinstance(name, str) and name != "", "cell_fields", name, "non-empty string names"
        )
        ok &= problems.check(
            array.shape == grid.shape,
            f"cell_fields[{name!r}].shape",
            array.shape,
            f"the grid shape {grid.shape}",
        )
        ok &= problems.check(
            array.dtype in _VTK_TYPES,
            f"cell_fields[{name!r}].dtype",
            str(array.dtype),
            "float32, float64, (u)int8/16/32/64 or bool",
        )
        if ok:
            arrays[name] = array
    problems.raise_if_any("cannot write VTK cell data")
    return arrays


def _checked_strings(
    arrays: Mapping[str, np.ndarray], units: Mapping[str, str], field_data: Mapping[str, str]
) -> dict[str, str]:
    """Validate units and field data; return them merged under their VTK names."""
    problems = Problems()
    strings = {}
    for name, unit in units.items():
        problems.check(name in arrays, "units", name, f"names of written fields {sorted(arrays)}")
        _check_string(unit, f"units[{name!r}]", problems)
        strings[UNIT_PREFIX + str(name)] = unit
    for name, value in field_data.items():
        problems.check(
            isinstance(name, str) and name != "" and not name.startswith(UNIT_PREFIX),
            "field_data",
            name,
            f"non-empty string names not starting with {UNIT_PREFIX!r}",
        )
        _check_string(value, f"field_data[{name!r}]", problems)
        strings[str(name)] = value
    problems.raise_if_any("cannot write VTK field data")
    return strings


def _check_string(value, path: str, problems: Problems) -> None:
    ok = isinstance(value, str) and "\0" not in value
    problems.check(ok, path, value, "a string without NUL characters")


def _floats(values: Sequence[float]) -> str:
    return " ".join(repr(float(v)) for v in values)


def _encode(raw: bytes, compress: bool) -> str:
    """Inline binary encoding: base64 header, then base64 payload (separately)."""
    if not compress:
        header = np.array([len(raw)], dtype=_HEADER)
        return _b64(header.tobytes()) + _b64(raw)
    blocks = [zlib.compress(raw[i : i + _BLOCK_SIZE]) for i in range(0, len(raw), _BLOCK_SIZE)]
    last = len(raw) % _BLOCK_SIZE
    header = np.array([len(blocks), _BLOCK_SIZE, last] + [len(b) for b in blocks], dtype=_HEADER)
    return _b64(header.tobytes()) + _b64(b"".join(blocks))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# -- reading -------------------------------------------------------------------
def read_vti(path: str | os.PathLike) -> tuple[Grid, dict[str, np.ndarray], dict[str, str], dict[str, str]]:
    """Read a file written by :func:`write_vti`.

    This is a minimal reader for phototherm's own output (one piece, inline
    base64 data, optionally zlib-compressed); use PyVista for arbitrary VTK
    files.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.vti`` file.

    Returns
    -------
    grid : Grid
        Grid with the file's shape, spacing [m] and corner origin [m].
    fields : dict of str to numpy.ndarray
        Cell fields, shape ``grid.shape``, C-ordered, in the stored dtype
        (bool fields come back as uint8).
    units : dict of str to str
        Field name -> unit, for the fields that had one.
    field_data : dict of str to str
        The other field-data strings.

    Raises
    ------
    InputError
        If the file uses a feature this reader does not support.
    """
    path = Path(path)
    root = ET.parse(path).getroot()
    image = root.find("ImageData")
    pieces = [] if image is None else image.findall("Piece")
    _require_supported(path, root, image, pieces)

    compressed = root.get("compressor") == _ZLIB
    header_dtype = np.dtype("<u8") if root.get("header_type") == "UInt64" else np.dtype("<u4")
    extent = [int(v) for v in image.get("WholeExtent").split()]
    origin = [float(v) for v in image.get("Origin", "0 0 0").split()]
    spacing = [float(v) for v in image.get("Spacing", "1 1 1").split()]
    lo, hi = extent[0::2], extent[1::2]
    grid = Grid(
        shape=[b - a for a, b in zip(lo, hi)],
        spacing=spacing,
        origin=[o + a * h for o, a, h in zip(origin, lo, spacing)],
    )

    fields = {}
    for element in pieces[0].iterfind("CellData/DataArray"):
        dtype = _NUMPY_TYPES[element.get("type")].newbyteorder("<")
        flat = np.frombuffer(_decode(element.text or "", header_dtype, compressed), dtype=dtype)
        flat = flat.astype(dtype.newbyteorder("="))
        fields[element.get("Name")] = from_vtk_order(flat, grid.shape)

    units, field_data = {}, {}
    for element in image.iterfind("FieldData/Array"):
        raw = _decode(element.text or "", header_dtype, compressed)
        value = raw.rstrip(b"\0").decode("utf-8")
        name = element.get("Name")
        if name.startswith(UNIT_PREFIX):
            units[name[len(UNIT_PREFIX) :]] = value
        else:
            field_data[name] = value
    return grid, fields, units, field_data


def _require_supported(path: Path, root: ET.Element, image: ET.Element | None, pieces: list) -> None:
    problems = Problems()

    def check(ok: bool, what: str, value, expected: str) -> None:
        problems.check(ok, f"{path}: {what}", value, expected)

    check(root.get("type") == "ImageData", "type", root.get("type"), "ImageData")
    check(root.get("byte_order") == "LittleEndian", "byte_order", root.get("byte_order"), "LittleEndian")
    header_type = root.get("header_type", "UInt32")
    check(header_type in ("UInt32", "UInt64"), "header_type", header_type, "UInt32 or UInt64")
    compressor = root.get("compressor")
    check(compressor in (None, _ZLIB), "compressor", compressor, f"none or {_ZLIB}")
    if image is not None:
        direction = image.get("Direction")
        identity = direction is None or [float(v) for v in direction.split()] == [1, 0, 0, 0, 1, 0, 0, 0, 1]
        check(identity, "Direction", direction, "an axis-aligned image (identity)")
    check(len(pieces) == 1, "Piece", f"{len(pieces)} pieces", "exactly one Piece")
    for element in root.iter():
        if element.tag not in ("DataArray", "Array"):
            continue
        name, kind = element.get("Name"), element.get("type")
        check(element.get("format") == "binary", name, element.get("format"), "format binary")
        components = element.get("NumberOfComponents", "1")
        check(components == "1", name, components, "one component")
        known = kind in _NUMPY_TYPES or (element.tag == "Array" and kind == "String")
        check(known, name, kind, "a numeric DataArray or a String Array")
        if kind == "String":
            tuples = element.get("NumberOfTuples")
            check(tuples == "1", name, tuples, "one string per array")
    problems.raise_if_any("unsupported VTK file (read it with pyvista.read instead)")


def _decode(text: str, header_dtype: np.dtype, compressed: bool) -> bytes:
    """Inverse of :func:`_encode` (header and payload base64-encoded separately)."""
    text = "".join(text.split())

    def header(count: int) -> tuple[np.ndarray, str]:
        n_bytes = count * header_dtype.itemsize
        n_chars = 4 * -(-n_bytes // 3)
        raw = base64.b64decode(text[:n_chars])[:n_bytes]
        return np.frombuffer(raw, dtype=header_dtype), text[n_chars:]

    if not compressed:
        (n_bytes,), payload = header(1)
        return base64.b64decode(payload)[:n_bytes]
    n_blocks = int(header(1)[0][0])
    sizes, payload = header(3 + n_blocks)
    data = base64.b64decode(payload)
    ends = np.cumsum(sizes[3:])
    return b"".join(zlib.decompress(data[end - size : end]) for end, size in zip(ends, sizes[3:]))


# -- PyVista and ParaView ------------------------------------------------------
def to_pyvista(grid: Grid, cell_fields: Mapping[str, np.ndarray]):
    """Build a :class:`pyvista.ImageData` holding the fields as cell data.

    Parameters
    ----------
    grid : Grid
        The voxel grid (lengths in metres).
    cell_fields : mapping of str to numpy.ndarray
        Field name -> array of shape ``grid.shape`` (dtypes as for
        :func:`write_vti`).

    Returns
    -------
    pyvista.ImageData
        Image with ``grid.shape + 1`` points per axis, origin at the grid's
        corner and one cell per voxel.

    Raises
    ------
    ImportError
        If PyVista is not installed.
    InputError
        As for :func:`write_vti`.
    """
    arrays = _checked_cell_fields(grid, cell_fields)
    try:
        import pyvista
    except ImportError as exc:
        raise ImportError("to_pyvista needs PyVista: pip install pyvista") from exc
    mesh = pyvista.ImageData(
        dimensions=tuple(n + 1 for n in grid.shape), spacing=grid.spacing, origin=grid.origin
    )
    for name, array in arrays.items():
        mesh.cell_data[name] = to_vtk_order(array)
    return mesh


def write_pvd(path: str | os.PathLike, entries: Sequence[tuple[float, str | os.PathLike]]) -> Path:
    """Write a ParaView collection (``.pvd``) that strings ``.vti`` files into a time series.

    Parameters
    ----------
    path : str or os.PathLike
        Output file, conventionally ending in ``.pvd``.
    entries : sequence of (float, path)
        ``(time_s, file)`` pairs: simulated time [s], strictly increasing, and
        the data file's path relative to the directory holding ``path``.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        Non-finite or non-increasing times, or an absolute file path.
    """
    problems = Problems()
    times = []
    for n, (time_s, file) in enumerate(entries):
        time_s = float(time_s)
        problems.check(
            np.isfinite(time_s) and (not times or time_s > times[-1]),
            f"entries[{n}].time_s",
            time_s,
            "finite times [s] in strictly increasing order",
        )
        problems.check(not PurePath(file).is_absolute(), f"entries[{n}].file", str(file), "a relative path")
        times.append(time_s)
    problems.raise_if_any("cannot write the ParaView collection")

    root = ET.Element("VTKFile", type="Collection", version="1.0", byte_order="LittleEndian")
    collection = ET.SubElement(root, "Collection")
    for time_s, (_, file) in zip(times, entries):
        ET.SubElement(collection, "DataSet", timestep=repr(time_s), part="0", file=PurePath(file).as_posix())
    ET.indent(root)
    xml = b'<?xml version="1.0"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"
    return atomic_write_bytes(path, xml)
