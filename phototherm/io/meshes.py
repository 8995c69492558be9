"""Meshes in and out through meshio: voxelisation into label maps, results back onto meshes.

Geometry can come from meshes instead of the built-in phantoms:

* a **tetrahedral mesh with cell tags** (gmsh ``.msh``, medit ``.mesh``,
  ``.vtu``, ...) becomes a label map with :func:`labels_from_tetra_mesh`: each
  voxel centre takes the integer tag of the tetrahedron containing it;
* **closed triangle surfaces** (``.stl``, ``.obj``, ``.ply``, ``.vtk``,
  ``.vtu``, ...) become masks with :func:`mask_from_surface`, or several at once
  a label map with :func:`labels_from_surfaces`;
* results go back onto a mesh with :func:`write_fields_to_mesh`, next to the
  ``.vti`` grid of :mod:`phototherm.io.vtk`.

Units
-----
Mesh files carry no units. :func:`read_mesh` assumes **millimetres** unless
told otherwise (``units="m"``, ``"mm"`` or ``"um"``) and returns points in
metres. Every other function here takes either a path (read with
:func:`read_mesh` and its ``units`` argument, millimetres by default) or a
:class:`meshio.Mesh` whose points are **already in metres**, as
:func:`read_mesh` returns them. A mesh far larger than the grid triggers a
:class:`MeshWarning`, the usual sign of a mesh still in millimetres.

Voxelisation method
-------------------
Both tetrahedral and surface meshes are voxelised by the same exact ray-parity
scan. A vertical ray through each column of voxel centres crosses a closed
surface an even number of times; a centre is inside when an odd number of
crossings lies below it. For each triangle, the columns whose centre lines pass
through its projection onto the x-y plane are enumerated (vectorised with
NumPy), the height of the crossing is interpolated on the triangle, and a
cumulative parity along z fills the columns. Cost grows with the surface's
size in voxel columns, not with the volume, so grids of millions of voxels take
well under a second per surface.

Centre lines that pass exactly through an edge or vertex of the projected
surface are resolved by a consistent symbolic perturbation (the ray is shifted
by (epsilon, epsilon^2) in x and y): every edge side-test is evaluated once per
edge in a fixed vertex order, so two triangles sharing an edge never both count
(or both miss) the same ray, and vertical (edge-on) triangles are never
counted. The crossing count is therefore right for any closed surface, also
for meshes whose vertices sit exactly on voxel-centre lines. Only a centre on
the surface itself (to rounding) can fall on either side, and it does so
consistently: on a face shared by two tagged regions of a tetrahedral mesh it
goes to exactly one of them, never to neither.

A tetrahedral region is voxelised through its boundary: the faces that belong
to an odd number of its tetrahedra (interior faces cancel). This is exact point
location in the union of the region's tetrahedra, with no search tolerance.
It is checked against SciPy's Delaunay point location in the tests.

Surfaces must be closed: every edge shared by an even number of triangles (two
for a manifold surface). Open surfaces are rejected because "inside" has no
meaning for them. Self-intersecting or nested surfaces are filled by the
even-odd rule (a cavity inside a shell is outside).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError, Problem, Problems
from ..grid import Grid
from .atomic import atomic_write_bytes

if TYPE_CHECKING:  # pragma: no cover
    import meshio

__all__ = [
    "LENGTH_UNITS",
    "TAG_ARRAYS",
    "MeshWarning",
    "read_mesh",
    "labels_from_tetra_mesh",
    "mask_from_surface",
    "labels_from_surfaces",
    "sample_field",
    "write_fields_to_mesh",
]

#: Length units a mesh file may be in -> metres per unit.
LENGTH_UNITS = {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "um": 1e-6}

#: Cell-data arrays tried, in order, for the tags of a tetrahedral mesh.
TAG_ARRAYS = ("gmsh:physical", "medit:ref", "CellEntityIds", "tag", "label", "labels")

#: meshio cell types used as tetrahedra (quadratic ones by their 4 corners).
_TETRA_TYPES = ("tetra", "tetra10")

#: meshio cell types used as surface polygons (split into triangles).
_SURFACE_TYPES = ("triangle", "quad", "polygon")

#: Extensions read with PyVista when meshio cannot read them (VTK surfaces).
_PYVISTA_SUFFIXES = (".vtk", ".vtp", ".vtu")

#: A mesh whose extent exceeds the grid's by this factor triggers a warning.
_SCALE_WARNING_FACTOR = 100.0

#: Column-triangle pairs processed at once by the scan (bounds memory).
_CHUNK = 1 << 21


class MeshWarning(UserWarning):
    """A mesh and a grid that probably do not belong together.

    Causes: the mesh lies entirely outside the grid, it is more than 100 times
    larger than the grid (points still in millimetres?), a surface encloses no
    voxel centre, or mesh points lie outside the grid when fields are sampled
    onto them (values there are clamped to the nearest grid voxels).
    """


# -- reading ---------------------------------------------------------------------
def read_mesh(path_or_mesh: str | os.PathLike | meshio.Mesh, *, units: str = "mm") -> meshio.Mesh:
    """Read a mesh with meshio and convert its points to metres.

    Parameters
    ----------
    path_or_mesh : str, os.PathLike or meshio.Mesh
        A mesh file in any format meshio reads (``.msh``, ``.vtu``, ``.vtk``,
        ``.stl``, ``.obj``, ``.ply``, ``.mesh``, ...) or a mesh already in
        memory whose points are in ``units``. VTK files meshio cannot read
        (legacy ``POLYDATA``, ``.vtp``) are read with PyVista.
    units : {"mm", "m", "cm", "um"}, optional
        Length unit of the mesh's coordinates. Mesh files carry none; the
        default is millimetres.

    Returns
    -------
    meshio.Mesh
        A new mesh with float64 points in metres; cells, point data, cell data,
        field data and sets are kept.

    Raises
    ------
    InputError
        Unknown ``units``; a missing file (its path is in the message); a
        file meshio cannot read; points that are not finite 3-D coordinates;
        cells that refer to missing points; a mesh with neither tetrahedra
        (``tetra``, ``tetra10``) nor surface cells (``triangle``, ``quad``,
        ``polygon``). Every problem found is reported.

    Examples
    --------
    >>> mesh = read_mesh("meshes/tumour_ellipsoid.stl", units="mm")  # doctest: +SKIP
    >>> mesh.points.max(axis=0)  # metres                            # doctest: +SKIP
    array([0.014, 0.014, 0.0064])
    """
    import meshio

    problems = Problems()
    _check_units(units, "units", problems)
    source = "mesh"
    path = None
    if isinstance(path_or_mesh, meshio.Mesh):
        mesh = path_or_mesh
    elif isinstance(path_or_mesh, (str, os.PathLike)):
        path = Path(path_or_mesh)
        source = str(path)
        problems.check(path.is_file(), "path", source, "an existing mesh file")
    else:
        problems.add("path_or_mesh", type(path_or_mesh).__name__, "a file path or a meshio.Mesh")
    problems.raise_if_any("cannot read mesh")

    if path is not None:
        mesh, reason = _meshio_read(path)
        if mesh is None:
            raise InputError(
                "cannot read mesh",
                [Problem("path", source, f"a mesh file meshio can read (VTK files also through PyVista): {reason}")],
            )

    points = np.asarray(mesh.points)
    ok = problems.check(
        points.ndim == 2 and points.shape[1] == 3 and np.issubdtype(points.dtype, np.number),
        f"{source}: points",
        points.shape,
        "3-D point coordinates, shape (n, 3)",
    )
    if ok:
        bad = ~np.isfinite(points).all(axis=1)
        problems.check(not bad.any(), f"{source}: points", f"{int(bad.sum())} non-finite points", "finite coordinates")
    types = [block.type for block in mesh.cells]
    problems.check(
        any(t in _TETRA_TYPES + _SURFACE_TYPES for t in types),
        f"{source}: cells",
        types,
        "tetrahedra ('tetra') or surface triangles ('triangle'; 'quad' and 'polygon' are split into triangles)",
    )
    n_points = len(points)
    for k, block in enumerate(mesh.cells):
        if block.type not in _TETRA_TYPES + _SURFACE_TYPES:
            continue
        data = np.asarray(block.data)
        ok = data.size == 0 or (
            np.issubdtype(data.dtype, np.integer) and data.min() >= 0 and data.max() < n_points
        )
        problems.check(ok, f"{source}: cells[{k}] ({block.type})", "point indices out of range",
                       f"indices into the {n_points} points")
    problems.raise_if_any("cannot use mesh")

    scale = LENGTH_UNITS[units]
    return meshio.Mesh(
        points.astype(np.float64) * scale,
        [meshio.CellBlock(block.type, _copied(block.data)) for block in mesh.cells],
        point_data={k: _copied(v) for k, v in mesh.point_data.items()},
        cell_data={k: [_copied(a) for a in v] for k, v in mesh.cell_data.items()},
        field_data=dict(mesh.field_data),
        point_sets=dict(mesh.point_sets),
        cell_sets=dict(mesh.cell_sets),
    )


# -- tetrahedral meshes -> labels ------------------------------------------------
def labels_from_tetra_mesh(
    mesh: str | os.PathLike | meshio.Mesh,
    grid: Grid,
    *,
    tag: str | None = None,
    background: int = -1,
    units: str = "mm",
) -> np.ndarray:
    """Label map from a tetrahedral mesh with integer cell tags.

    Each voxel centre gets the tag of the tetrahedron containing it; centres
    outside every tetrahedron get ``background``. The point location is exact
    (see the module notes): each tagged region is voxelised through its
    boundary faces by ray parity.

    Parameters
    ----------
    mesh : meshio.Mesh, str or os.PathLike
        A mesh with points in metres (as :func:`read_mesh` returns), or a file
        read with ``units``. Only its ``tetra`` (and ``tetra10``, by corner
        nodes) cells are used; other cells (boundary triangles of a gmsh
        file, ...) are ignored.
    grid : Grid
        The voxel grid (lengths in metres).
    tag : str, optional
        Name of the cell-data array holding the tags. Default: the first
        present of :data:`TAG_ARRAYS` (``"gmsh:physical"``, ``"medit:ref"``,
        ``"CellEntityIds"``, ``"tag"``, ``"label"``, ``"labels"``).
    background : int, optional
        Label of voxel centres outside the mesh. Must differ from every tag.
    units : {"mm", "m", "cm", "um"}, optional
        Length unit of the file when ``mesh`` is a path.

    Returns
    -------
    numpy.ndarray
        int32 labels of shape ``grid.shape``.

    Raises
    ------
    InputError
        No tetrahedra; no tag array (the available cell-data arrays are
        listed); tags that are not integers or do not fit int32; a background
        equal to a tag; and every error of :func:`read_mesh`.

    Warns
    -----
    MeshWarning
        If the mesh lies outside the grid or is more than 100 times larger.

    Notes
    -----
    Where tetrahedra of different tags overlap (an invalid mesh), the larger
    tag wins: regions are painted in increasing tag order.
    """
    mesh = _as_mesh(mesh, units)
    problems = Problems()
    _check_grid(grid, problems)
    problems.check(_is_int(background) and _fits_int32(background), "background", background,
                   "an integer label (int32)")
    blocks = [k for k, block in enumerate(mesh.cells) if block.type in _TETRA_TYPES]
    problems.check(bool(blocks), "mesh.cells", [b.type for b in mesh.cells], "tetrahedra ('tetra' cells)")
    name = tag
    if tag is None:
        name = next((n for n in TAG_ARRAYS if n in mesh.cell_data), None)
        problems.check(
            name is not None,
            "tag",
            None,
            f"a cell-data array of tags; tried {list(TAG_ARRAYS)}, "
            f"the mesh has {sorted(mesh.cell_data) or 'no cell data'}: pass tag=<name>",
        )
    else:
        problems.check(
            isinstance(tag, str) and tag in mesh.cell_data,
            "tag",
            tag,
            f"the name of a cell-data array of the mesh: {sorted(mesh.cell_data) or 'it has no cell data'}",
        )
    problems.raise_if_any("cannot voxelise tetrahedral mesh")

    tets, tags = [], []
    for k in blocks:
        corners = np.asarray(mesh.cells[k].data)[:, :4].astype(np.int64)
        values = np.asarray(mesh.cell_data[name][k])
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        tets.append(corners)
        tags.append(values)
    tets = np.concatenate(tets)
    tags = np.concatenate(tags)
    ok = problems.check(
        tags.shape == (len(tets),) and np.issubdtype(tags.dtype, np.number),
        f"cell_data[{name!r}]",
        tags.shape,
        f"one number per tetrahedron ({len(tets)})",
    )
    if ok:
        integral = np.isfinite(tags) & (np.round(tags) == tags)
        problems.check(bool(integral.all()), f"cell_data[{name!r}]", tags[~integral][:5].tolist(),
                       "integer tags")
        if integral.all():
            tags = tags.astype(np.int64)
            problems.check(bool(_fits_int32(tags.min()) and _fits_int32(tags.max())), f"cell_data[{name!r}]",
                           (int(tags.min()), int(tags.max())), "tags within the int32 range")
            problems.check(not np.any(tags == background), "background", background,
                           f"a label different from every tag {np.unique(tags).tolist()}")
    problems.raise_if_any("cannot voxelise tetrahedral mesh")

    points, tets = _merge_points(mesh.points, tets)
    _warn_if_mismatched(points[np.unique(tets)], grid, "tetrahedral mesh")
    uvw = _index_coordinates(points, grid)
    labels = np.full(grid.shape, int(background), dtype=np.int32)
    for value, faces in _region_boundaries(tets, tags):
        labels[_parity_fill(uvw, faces, grid.shape)] = value
    return labels


# -- closed surfaces -> masks and labels -----------------------------------------
def mask_from_surface(mesh: str | os.PathLike | meshio.Mesh, grid: Grid, *, units: str = "mm") -> np.ndarray:
    """Voxel centres inside a closed triangle surface.

    Parameters
    ----------
    mesh : meshio.Mesh, str or os.PathLike
        A surface with points in metres (as :func:`read_mesh` returns), or a
        file (``.stl``, ``.obj``, ``.ply``, ``.vtk``, ...) read with
        ``units``. Its ``triangle`` cells are used; ``quad`` and ``polygon``
        cells are split into triangles. Coincident points are merged (STL
        files repeat them per facet).
    grid : Grid
        The voxel grid (lengths in metres).
    units : {"mm", "m", "cm", "um"}, optional
        Length unit of the file when ``mesh`` is a path.

    Returns
    -------
    numpy.ndarray
        bool mask of shape ``grid.shape``: true where the voxel centre is
        inside the surface (even-odd rule).

    Raises
    ------
    InputError
        No surface cells; an open surface (some edge belongs to an odd
        number of triangles: the number of such edges and one of them are
        given); and every error of :func:`read_mesh`.

    Warns
    -----
    MeshWarning
        If the surface lies outside the grid, is more than 100 times larger
        than it, or encloses no voxel centre.

    Notes
    -----
    Method: exact ray parity along z with consistent tie-breaking (see the
    module notes). The orientation of the triangles does not matter.
    """
    source = str(mesh) if isinstance(mesh, (str, os.PathLike)) else "mesh"
    mesh = _as_mesh(mesh, units)
    problems = Problems()
    _check_grid(grid, problems)
    points, triangles = _surface_triangles(mesh)
    problems.check(
        len(triangles) > 0,
        f"{source}: cells",
        [b.type for b in mesh.cells],
        "surface cells ('triangle', 'quad' or 'polygon'); use labels_from_tetra_mesh for tetrahedra",
    )
    problems.raise_if_any("cannot voxelise surface")
    _check_closed(points, triangles, source)
    warned = _warn_if_mismatched(points[np.unique(triangles)], grid, f"surface {source}")
    mask = _parity_fill(_index_coordinates(points, grid), triangles, grid.shape)
    if not mask.any() and not warned:
        warnings.warn(f"surface {source} encloses no voxel centre of the grid (is it smaller than a voxel?)",
                      MeshWarning, stacklevel=2)
    return mask


def labels_from_surfaces(
    surfaces: Sequence[tuple[int, str | os.PathLike | meshio.Mesh]],
    grid: Grid,
    *,
    base: np.ndarray | None = None,
    background: int = 0,
    units: str = "mm",
) -> np.ndarray:
    """Paint several closed surfaces, in order, into a label map.

    Parameters
    ----------
    surfaces : sequence of (int, mesh or path)
        ``(label, surface)`` pairs. Each surface is voxelised with
        :func:`mask_from_surface` and its voxels set to ``label``; later
        surfaces overwrite earlier ones (list a tumour after the organ that
        contains it).
    grid : Grid
        The voxel grid (lengths in metres).
    base : numpy.ndarray, optional
        Integer label map of shape ``grid.shape`` to paint onto (not
        modified), e.g. a layered phantom's labels. Default: all
        ``background``.
    background : int, optional
        Label of voxels covered by no surface when ``base`` is not given.
    units : {"mm", "m", "cm", "um"}, optional
        Length unit of the surfaces given as paths.

    Returns
    -------
    numpy.ndarray
        int32 labels of shape ``grid.shape``.

    Raises
    ------
    InputError
        A malformed pair, a non-integer label, a ``base`` of the wrong shape
        or dtype, files that cannot be read (all of them reported together),
        and every error of :func:`mask_from_surface`.
    """
    import meshio

    problems = Problems()
    _check_grid(grid, problems)
    _check_units(units, "units", problems)
    pairs = list(surfaces) if isinstance(surfaces, Sequence) and not isinstance(surfaces, str) else None
    problems.check(pairs is not None, "surfaces", type(surfaces).__name__, "a sequence of (label, surface) pairs")
    meshes = []
    for i, pair in enumerate(pairs or []):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            problems.add(f"surfaces[{i}]", pair, "a (label, surface) pair")
            continue
        label, surface = pair
        problems.check(_is_int(label) and _fits_int32(label), f"surfaces[{i}].label", label, "an integer label (int32)")
        if isinstance(surface, meshio.Mesh):
            meshes.append((label, surface))
        elif isinstance(surface, (str, os.PathLike)):
            try:
                meshes.append((label, read_mesh(surface, units=units if units in LENGTH_UNITS else "mm")))
            except InputError as exc:
                for p in exc.problems:
                    problems.add(f"surfaces[{i}].{p.path}", p.value, p.expected)
        else:
            problems.add(f"surfaces[{i}].surface", type(surface).__name__, "a meshio.Mesh or a file path")
    if base is None:
        problems.check(_is_int(background) and _fits_int32(background), "background", background,
                       "an integer label (int32)")
    else:
        base = np.asarray(base)
        if isinstance(grid, Grid):
            problems.check(base.shape == grid.shape, "base.shape", base.shape, f"the grid shape {grid.shape}")
        problems.check(np.issubdtype(base.dtype, np.integer), "base.dtype", str(base.dtype), "integer labels")
    problems.raise_if_any("cannot paint surfaces into labels")

    if base is None:
        labels = np.full(grid.shape, int(background), dtype=np.int32)
    else:
        labels = base.astype(np.int32, copy=True)
    for label, surface in meshes:
        labels[mask_from_surface(surface, grid)] = int(label)
    return labels


# -- voxel fields -> mesh --------------------------------------------------------
def sample_field(
    field: np.ndarray, grid: Grid, points: np.ndarray, *, method: str | None = None
) -> np.ndarray:
    """Sample a cell-centred voxel field at arbitrary points.

    Parameters
    ----------
    field : numpy.ndarray
        Values at the voxel centres, shape ``grid.shape``.
    grid : Grid
        The voxel grid (lengths in metres).
    points : numpy.ndarray
        Positions [m], shape ``(n, 3)``.
    method : {"linear", "nearest"}, optional
        ``"linear"``: trilinear interpolation between the eight surrounding
        voxel centres; ``"nearest"``: the value of the voxel containing the
        point. Default: nearest for integer and bool fields (labels, masks),
        linear otherwise.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``: float64 for linear sampling, the field's dtype for
        nearest.

    Raises
    ------
    InputError
        A field of the wrong shape, points that are not finite ``(n, 3)``
        coordinates, an unknown method, or linear sampling of a non-numeric
        field.

    Notes
    -----
    Points outside the grid take the value at the nearest grid position
    (coordinates are clamped to the outermost voxel centres for linear
    sampling, to the outermost voxels for nearest). Linear sampling reproduces
    a field that is linear in x, y, z exactly (to rounding) between the
    outermost voxel centres. NaN voxels (e.g. quantities undefined in some
    tissue) are left out of the weighted average; the result is NaN only
    where every contributing voxel is NaN.
    """
    field = np.asarray(field)
    points = np.asarray(points, dtype=float)
    problems = Problems()
    _check_grid(grid, problems)
    if isinstance(grid, Grid):
        problems.check(field.shape == grid.shape, "field.shape", field.shape, f"the grid shape {grid.shape}")
    ok = problems.check(points.ndim == 2 and points.shape[1] == 3, "points.shape", points.shape, "(n, 3) [m]")
    if ok:
        problems.finite(points, "points", "[m]")
    if method is None:
        method = "nearest" if (np.issubdtype(field.dtype, np.integer) or field.dtype == np.bool_) else "linear"
    problems.check(method in ("linear", "nearest"), "method", method, "'linear' or 'nearest'")
    if method == "linear":
        kind_ok = field.dtype == np.bool_ or any(np.issubdtype(field.dtype, t) for t in (np.integer, np.floating))
        problems.check(kind_ok, "field.dtype", str(field.dtype), "integers, floats or bool for linear sampling")
    problems.raise_if_any("cannot sample field")

    origin, spacing = np.array(grid.origin), np.array(grid.spacing)
    shape = np.array(grid.shape)
    if method == "nearest":
        idx = np.floor((points - origin) / spacing)
        idx = np.clip(idx, 0, shape - 1).astype(np.intp)
        return field[idx[:, 0], idx[:, 1], idx[:, 2]]

    u = np.clip((points - origin) / spacing - 0.5, 0.0, shape - 1)
    lo = np.clip(np.floor(u), 0, np.maximum(shape - 2, 0)).astype(np.intp)
    t = u - lo
    hi = np.minimum(lo + 1, shape - 1)
    values = field.astype(np.float64, copy=False)
    missing = np.isnan(values)
    has_missing = bool(missing.any())
    total = np.zeros(len(points))
    weight = np.zeros(len(points)) if has_missing else None
    for corner in range(8):
        bits = [(corner >> d) & 1 for d in range(3)]
        index = tuple(np.where(bits[d], hi[:, d], lo[:, d]) for d in range(3))
        w = np.ones(len(points))
        for d in range(3):
            w = w * (t[:, d] if bits[d] else 1.0 - t[:, d])
        v = values[index]
        if has_missing:
            good = ~missing[index]
            total += np.where(good, w * np.where(good, v, 0.0), 0.0)
            weight += np.where(good, w, 0.0)
        else:
            total += w * v
    if has_missing:
        with np.errstate(invalid="ignore", divide="ignore"):
            total = np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), np.nan)
    return total


def write_fields_to_mesh(
    fields: Mapping[str, np.ndarray],
    units: Mapping[str, str],
    grid: Grid,
    mesh: str | os.PathLike | meshio.Mesh,
    path: str | os.PathLike,
    *,
    mesh_units: str = "mm",
    point_units: str = "m",
) -> Path:
    """Sample voxel fields onto a mesh and write it with meshio, atomically.

    Every field becomes point data (sampled at the mesh points) and cell data
    (sampled at the cell centroids, the mean of each cell's nodes) under its
    own name. Float fields are interpolated trilinearly between voxel centres;
    integer and bool fields (labels, masks) take the value of the voxel
    containing the point (see :func:`sample_field`). The mesh's own data
    (tags, ...) is kept; a field of the same name replaces it.

    Parameters
    ----------
    fields : mapping of str to numpy.ndarray
        Field name -> array of shape ``grid.shape``. phototherm's result names
        already carry their unit (``temperature_degC``, ``cem43_min``, ...).
    units : mapping of str to str
        Field name -> unit, one entry for every field (``"1"`` for
        dimensionless quantities, labels included).
    grid : Grid
        The voxel grid of the fields (lengths in metres).
    mesh : meshio.Mesh, str or os.PathLike
        The mesh, with points in metres (as :func:`read_mesh` returns), or a
        file read with ``mesh_units``.
    path : str or os.PathLike
        Output file; meshio picks the format from the extension (``.vtu``,
        ``.vtk``, ``.xdmf``, ``.msh``, ...). ``.xdmf`` is written with inline
        XML data (one file) and needs h5py, which meshio's XDMF writer imports.
    mesh_units : {"mm", "m", "cm", "um"}, optional
        Length unit of the mesh file when ``mesh`` is a path.
    point_units : {"m", "cm", "mm", "um"}, optional
        Unit of the point coordinates written. The default, metres, overlays
        the result on phototherm's ``.vti`` output; ``"mm"`` overlays it on
        the original millimetre mesh.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        No fields, a field of the wrong shape or dtype, a missing or surplus
        unit, a unit that is not a one-line string, an unknown length unit, an
        extension meshio cannot write, a name legacy ``.vtk`` cannot store
        (whitespace), and every error of :func:`read_mesh`.
    ImportError
        ``.xdmf`` output without h5py.

    Warns
    -----
    MeshWarning
        If mesh points lie outside the grid (their values are clamped).

    Notes
    -----
    Units are recorded in the field names and, where the format has room for
    text, as a line ``phototherm <version> units: name=unit; ...; points in
    m``: an XML
    comment at the top of ``.vtu`` and ``.xdmf`` files, the title line (at
    most 255 characters) of legacy ``.vtk`` files. The file is written by
    meshio into a hidden temporary folder next to ``path`` and moved into
    place only when complete (:mod:`phototherm.io.atomic`).
    """
    import meshio

    problems = Problems()
    _check_grid(grid, problems)
    _check_units(mesh_units, "mesh_units", problems)
    _check_units(point_units, "point_units", problems)
    path = Path(path)
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".gz") else path.suffix
    suffix = suffix.lower()
    problems.check(suffix in meshio.extension_to_filetypes, "path", str(path),
                   "a file extension meshio can write, e.g. .vtu, .vtk, .xdmf, .msh")
    problems.check(isinstance(fields, Mapping) and len(fields) > 0, "fields", fields, "at least one field")
    units = dict(units or {}) if isinstance(units, Mapping) else units
    problems.check(isinstance(units, dict), "units", units, "a mapping of field name to unit")
    arrays = {}
    for name, value in (fields.items() if isinstance(fields, Mapping) else ()):
        array = np.asarray(value)
        ok = problems.check(isinstance(name, str) and name.strip() != "", "fields", name, "non-empty string names")
        if ok and suffix == ".vtk":
            ok &= problems.check(not any(c.isspace() for c in name), "fields", name,
                                 "names without whitespace (legacy .vtk cannot store them)")
        if isinstance(grid, Grid):
            ok &= problems.check(array.shape == grid.shape, f"fields[{name!r}].shape", array.shape,
                                 f"the grid shape {grid.shape}")
        kind_ok = array.dtype == np.bool_ or any(np.issubdtype(array.dtype, t) for t in (np.integer, np.floating))
        ok &= problems.check(kind_ok, f"fields[{name!r}].dtype", str(array.dtype), "integers, floats or bool")
        if isinstance(units, dict):
            unit = units.get(name)
            ok &= problems.check(isinstance(unit, str) and unit != "" and "\n" not in unit and "\r" not in unit,
                                 f"units[{name!r}]", unit, "a one-line unit string ('1' if dimensionless)")
        if ok:
            arrays[name] = array
    if isinstance(units, dict) and isinstance(fields, Mapping):
        for name in units:
            problems.check(name in fields, "units", name, f"names of written fields {sorted(fields)}")
    problems.raise_if_any("cannot write fields to mesh")

    mesh = _as_mesh(mesh, mesh_units)
    points = np.asarray(mesh.points, dtype=float)
    outside = ~np.all((points >= np.array(grid.bounds)[:, 0]) & (points <= np.array(grid.bounds)[:, 1]), axis=1)
    if outside.any():
        warnings.warn(
            f"{int(outside.sum())} of {len(points)} mesh points lie outside the grid {grid.bounds} [m]; "
            "fields there take the value at the nearest grid position",
            MeshWarning,
            stacklevel=2,
        )
    centroids = [_centroids(points, block) for block in mesh.cells]
    point_data = dict(mesh.point_data)
    cell_data = {k: list(v) for k, v in mesh.cell_data.items()}
    for name, array in arrays.items():
        point_data[name] = _sampled(array, grid, points)
        cell_data[name] = [_sampled(array, grid, c) for c in centroids]

    out = meshio.Mesh(
        points / LENGTH_UNITS[point_units],
        mesh.cells,
        point_data=point_data,
        cell_data=cell_data,
        field_data=dict(mesh.field_data),
        point_sets=dict(mesh.point_sets),
        cell_sets=dict(mesh.cell_sets),
    )
    from .._version import __version__

    entries = "; ".join(f"{name}={units[name]}" for name in arrays)
    note = f"phototherm {__version__} units: {entries}; points in {point_units}"
    _write_mesh_atomically(out, path, suffix, note)
    return path


def _copied(data):
    """A copy of an array, or of a ragged list (polyhedra) as a list."""
    return data.copy() if isinstance(data, np.ndarray) else list(data)


def _meshio_read(path: Path):
    """``(mesh, None)`` or ``(None, reason)``.

    meshio prints its reader errors and calls ``sys.exit`` when no reader
    succeeds; both are caught here so that a bad file is an InputError. VTK
    files meshio cannot read (legacy POLYDATA, ``.vtp``: the usual surfaces
    from VTK and PyVista) are read with PyVista and converted.
    """
    import meshio

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), np.errstate(over="ignore"):
            return meshio.read(path), None
    except (Exception, SystemExit) as exc:  # meshio raises many types for unreadable input
        said = " ".join((out.getvalue() + " " + err.getvalue()).split())
        detail = f"{type(exc).__name__}: {exc}" if not isinstance(exc, SystemExit) else ""
        reason = "; ".join(x for x in (detail, said) if x) or type(exc).__name__
    if path.suffix.lower() in _PYVISTA_SUFFIXES:
        try:
            import pyvista

            with warnings.catch_warnings(), _quiet_vtk():
                warnings.simplefilter("ignore")
                data = pyvista.read(path)
            if isinstance(data, pyvista.DataSet) and data.n_cells > 0:
                return pyvista.to_meshio(data), None
            reason += f"; PyVista read a {type(data).__name__} without cells"
        except Exception as exc:  # VTK's readers raise many types too
            reason += f"; PyVista: {type(exc).__name__}: {exc}"
    return None, reason


@contextlib.contextmanager
def _quiet_vtk():
    """Silence VTK's own error output while a reader fails (the reason is reported instead)."""
    from vtkmodules.vtkCommonCore import vtkObject

    shown = vtkObject.GetGlobalWarningDisplay()
    vtkObject.GlobalWarningDisplayOff()
    try:
        yield
    finally:
        vtkObject.SetGlobalWarningDisplay(shown)


# -- helpers: checks -------------------------------------------------------------
def _check_units(units, key: str, problems: Problems) -> None:
    problems.check(isinstance(units, str) and units in LENGTH_UNITS, key, units,
                   f"one of {', '.join(repr(u) for u in LENGTH_UNITS)} (length unit of the mesh)")


def _check_grid(grid, problems: Problems) -> None:
    problems.check(isinstance(grid, Grid), "grid", type(grid).__name__, "a phototherm.Grid")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _fits_int32(value) -> bool:
    info = np.iinfo(np.int32)
    return info.min <= int(value) <= info.max


def _as_mesh(mesh, units: str) -> meshio.Mesh:
    """A path is read with :func:`read_mesh`; a mesh object is checked (points in metres)."""
    import meshio

    if isinstance(mesh, meshio.Mesh):
        return read_mesh(mesh, units="m")
    if isinstance(mesh, (str, os.PathLike)):
        return read_mesh(mesh, units=units)
    raise InputError("cannot use mesh", [Problem("mesh", type(mesh).__name__, "a meshio.Mesh or a file path")])


def _warn_if_mismatched(points: np.ndarray, grid: Grid, what: str) -> bool:
    """Warn (and return True) if the mesh lies outside the grid or dwarfs it."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    g_lo, g_hi = np.array(grid.bounds).T
    if np.any(hi < g_lo) or np.any(lo > g_hi):
        warnings.warn(
            f"{what} lies entirely outside the grid (mesh bounds {lo.tolist()}..{hi.tolist()} m, "
            f"grid bounds {g_lo.tolist()}..{g_hi.tolist()} m); are its points in metres?",
            MeshWarning,
            stacklevel=3,
        )
        return True
    if np.max(hi - lo) > _SCALE_WARNING_FACTOR * np.max(g_hi - g_lo):
        warnings.warn(
            f"{what} is more than {_SCALE_WARNING_FACTOR:g} times larger than the grid "
            f"({np.max(hi - lo):g} m vs {np.max(g_hi - g_lo):g} m); are its points in metres "
            "(read_mesh(..., units=...))?",
            MeshWarning,
            stacklevel=3,
        )
        return True
    return False


# -- helpers: geometry -----------------------------------------------------------
def _merge_points(points: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge exactly coincident points; return the unique points and the renumbered cells."""
    used = np.unique(cells)
    unique, inverse = np.unique(points[used], axis=0, return_inverse=True)
    remap = np.zeros(len(points), dtype=np.int64)
    remap[used] = inverse.reshape(-1)
    return unique, remap[cells]


def _surface_triangles(mesh: meshio.Mesh) -> tuple[np.ndarray, np.ndarray]:
    """Triangles of the surface cells (quads and polygons fanned), points merged."""
    triangles = []
    for block in mesh.cells:
        if block.type not in _SURFACE_TYPES:
            continue
        data = np.asarray(block.data, dtype=np.int64)
        if data.ndim != 2 or data.shape[1] < 3:
            continue
        # Fan from the first vertex: exact for triangles; for any planar polygon
        # the fan covers its interior an odd number of times (even-odd rule) and
        # its diagonals appear twice, so closedness and parity are preserved.
        for j in range(1, data.shape[1] - 1):
            triangles.append(data[:, [0, j, j + 1]])
    if not triangles:
        return np.asarray(mesh.points, dtype=float), np.zeros((0, 3), dtype=np.int64)
    return _merge_points(np.asarray(mesh.points, dtype=float), np.concatenate(triangles))


def _check_closed(points: np.ndarray, triangles: np.ndarray, source: str) -> None:
    """Raise InputError if some edge belongs to an odd number of triangles."""
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [0, 2]]])
    edges.sort(axis=1)
    edges = edges[edges[:, 0] != edges[:, 1]]  # collapsed edges of degenerate triangles
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    odd = unique[counts % 2 == 1]
    if len(odd):
        a, b = points[odd[0, 0]], points[odd[0, 1]]
        raise InputError(
            "cannot voxelise surface",
            [
                Problem(
                    source,
                    f"an open surface: {len(odd)} of {len(unique)} edges belong to an odd number of triangles, "
                    f"e.g. the edge from {np.round(a, 9).tolist()} to {np.round(b, 9).tolist()} m",
                    "a closed (watertight) surface: every edge shared by an even number of triangles "
                    "(two for a manifold surface)",
                )
            ],
        )


def _region_boundaries(tets: np.ndarray, tags: np.ndarray):
    """Yield ``(tag, faces)`` in increasing tag order: faces in an odd number of the region's tetrahedra."""
    faces = np.concatenate([tets[:, [1, 2, 3]], tets[:, [0, 2, 3]], tets[:, [0, 1, 3]], tets[:, [0, 1, 2]]])
    face_tags = np.tile(tags, 4)
    faces.sort(axis=1)
    order = np.lexsort((faces[:, 2], faces[:, 1], faces[:, 0], face_tags))
    faces, face_tags = faces[order], face_tags[order]
    new = np.ones(len(faces), dtype=bool)
    new[1:] = np.any(faces[1:] != faces[:-1], axis=1) | (face_tags[1:] != face_tags[:-1])
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, len(faces)))
    boundary = starts[counts % 2 == 1]
    faces, face_tags = faces[boundary], face_tags[boundary]
    for value in np.unique(tags):
        yield int(value), faces[face_tags == value]


def _index_coordinates(points: np.ndarray, grid: Grid) -> np.ndarray:
    """Positions [m] -> continuous voxel indices (voxel centre ``i`` at coordinate ``i``)."""
    return (points - np.array(grid.origin)) / np.array(grid.spacing) - 0.5


def _edge_function(px, py, p, q):
    """Side of the ray at ``(px, py)`` relative to the projected edge p -> q.

    Returns the value of the edge function and its sign under the symbolic
    perturbation (px + eps, py + eps^2), which is never zero unless the edge
    is a point in projection. Callers pass each edge with its lower vertex
    index first, so the arithmetic is identical in both triangles sharing it.
    """
    dx = q[:, 0] - p[:, 0]
    dy = q[:, 1] - p[:, 1]
    value = dx * (py - p[:, 1]) - dy * (px - p[:, 0])
    tie = np.where(dy != 0, -np.sign(dy), np.sign(dx))
    return value, np.where(value != 0, np.sign(value), tie)


def _parity_fill(uvw: np.ndarray, triangles: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Voxel centres with an odd number of triangle crossings below them (see module notes).

    ``uvw`` are point positions in continuous voxel-index coordinates; voxel
    centre ``(i, j, k)`` is at ``(i, j, k)``.
    """
    nx, ny, nz = shape
    toggles = np.zeros(nx * ny * (nz + 1), dtype=np.uint8)
    if len(triangles) == 0:
        return np.zeros(shape, dtype=bool)
    triangles = np.sort(triangles, axis=1)  # canonical vertex order: shared edges and faces compute alike
    a, b, c = (uvw[triangles[:, d]] for d in range(3))
    lo = np.minimum(np.minimum(a, b), c)
    hi = np.maximum(np.maximum(a, b), c)
    i0 = np.clip(np.ceil(lo[:, 0]), 0, nx).astype(np.int64)
    i1 = np.clip(np.floor(hi[:, 0]), -1, nx - 1).astype(np.int64)
    j0 = np.clip(np.ceil(lo[:, 1]), 0, ny).astype(np.int64)
    j1 = np.clip(np.floor(hi[:, 1]), -1, ny - 1).astype(np.int64)
    n_i = np.maximum(i1 - i0 + 1, 0)
    n_j = np.maximum(j1 - j0 + 1, 0)
    counts = n_i * n_j
    candidates = np.flatnonzero(counts)
    if len(candidates) == 0:
        return np.zeros(shape, dtype=bool)
    cumulative = np.cumsum(counts[candidates])
    start = 0
    while start < len(candidates):
        offset = cumulative[start - 1] if start else 0
        stop = max(int(np.searchsorted(cumulative, offset + _CHUNK, side="right")), start + 1)
        tri = candidates[start:stop]
        start = stop
        n = counts[tri]
        rep = np.repeat(tri, n)
        local = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        width = n_j[rep]
        ci = i0[rep] + local // width
        cj = j0[rep] + local % width
        px, py = ci.astype(float), cj.astype(float)
        pa, pb, pc = a[rep], b[rep], c[rep]
        e_ab, s_ab = _edge_function(px, py, pa, pb)
        e_bc, s_bc = _edge_function(px, py, pb, pc)
        e_ac, s_ac = _edge_function(px, py, pa, pc)
        inside = (s_ab != 0) & (s_ab == s_bc) & (s_bc == -s_ac)
        # Barycentric weights of a, b, c: the oriented edge functions opposite them.
        w_a, w_b, w_c = e_bc[inside], -e_ac[inside], e_ab[inside]
        total = w_a + w_b + w_c
        good = total != 0
        z = (w_a * pa[inside, 2] + w_b * pb[inside, 2] + w_c * pc[inside, 2])[good] / total[good]
        # First voxel centre strictly above the crossing; nz means "above the grid".
        k = np.clip(np.floor(z) + 1, 0, nz).astype(np.int64)
        bins = (ci[inside][good] * ny + cj[inside][good]) * (nz + 1) + k
        hit, times = np.unique(bins, return_counts=True)
        toggles[hit] ^= (times & 1).astype(np.uint8)
    parity = np.bitwise_xor.accumulate(toggles.reshape(nx, ny, nz + 1), axis=2)
    return parity[:, :, :nz].astype(bool)


# -- helpers: writing ------------------------------------------------------------
def _centroids(points: np.ndarray, block) -> np.ndarray:
    """Mean of each cell's nodes [m]."""
    data = block.data
    try:
        array = np.asarray(data, dtype=np.int64)
    except (TypeError, ValueError):
        array = None
    if array is not None and array.ndim == 2:
        return points[array].mean(axis=1)
    nodes = [np.unique(np.concatenate([np.ravel(f) for f in cell])) for cell in data]  # polyhedra
    return np.array([points[n].mean(axis=0) for n in nodes]).reshape(-1, 3)


def _sampled(array: np.ndarray, grid: Grid, points: np.ndarray) -> np.ndarray:
    """Field values at points, in a dtype every meshio writer accepts."""
    values = sample_field(array, grid, points)
    if array.dtype == np.bool_:
        return values.astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):  # float32 stays float32; float16 (unwritable) becomes it
        return values.astype(np.float64 if array.dtype.itemsize > 4 else np.float32)
    return values


def _write_mesh_atomically(mesh: meshio.Mesh, path: Path, suffix: str, note: str) -> None:
    """meshio writes into a hidden sibling folder; each file is then moved into place atomically."""
    import meshio

    kwargs = {}
    if suffix in (".xdmf", ".xmf"):
        # meshio's XDMF writer imports h5py even for inline XML data.
        if importlib.util.find_spec("h5py") is None:
            raise ImportError("writing .xdmf needs h5py (pip install h5py); .vtu needs nothing more")
        kwargs["data_format"] = "XML"
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        target = staging / path.name
        try:
            meshio.write(target, mesh, **kwargs)
        except (meshio.WriteError, KeyError, ValueError, TypeError) as exc:  # format cannot hold this mesh/data
            detail = f"{type(exc).__name__}: {exc}"
            expected = f"a format meshio can write this mesh in ({detail})"
            raise InputError("cannot write fields to mesh", [Problem("path", str(path), expected)]) from exc
        produced = sorted(p for p in staging.iterdir() if p.is_file())
        for file in produced:  # companion files first, the main file last
            if file.name != path.name:
                atomic_write_bytes(path.parent / file.name, file.read_bytes())
        atomic_write_bytes(path, _annotated(target.read_bytes(), suffix, note))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _annotated(data: bytes, suffix: str, note: str) -> bytes:
    """Add the units note where the format has room for text."""
    if suffix in (".vtu", ".xdmf", ".xmf"):
        comment = ("<!-- " + note.replace("--", "- -") + " -->\n").encode("utf-8")
        end = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
        if end and data[end : end + 1] == b"\n":
            end += 1
        return data[:end] + comment + data[end:]
    if suffix == ".vtk" and data.startswith(b"# vtk DataFile"):
        header, title, rest = data.split(b"\n", 2)
        title = note.encode("ascii", "replace")[:255]
        return header + b"\n" + title + b"\n" + rest
    return data
