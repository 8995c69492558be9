"""Built-in parametric phantoms: a voxel grid, a tissue label map and named structures.

Three geometries cover the usual preclinical and test cases:

``mouse_flank_tumour``
    A subcutaneous tumour in a mouse flank (PHYSICS.md section 7): epidermis
    (default 20 um), dermis (0.4 mm), subcutaneous fat (0.5 mm) and muscle
    filling the rest of the depth, with an ellipsoidal tumour (default semi-axes
    4 x 4 x 3 mm, i.e. 8 mm across) whose top touches the bottom of the dermis.
    The tumour replaces fat and muscle but never the skin layers.
``layered_slab``
    Planar layers stacked in depth, e.g. dermis / fat / muscle, each given by
    a tissue name and a thickness; the last layer may fill the rest of a given
    depth.
``sphere_in_block``
    A spherical inclusion (default tumour, radius 3 mm) in a homogeneous block
    (default muscle).

Coordinate convention
---------------------
Lengths are in metres. The grid's origin (the outer corner of voxel
``(0, 0, 0)``) is at ``(0, 0, 0)``, so the phantom occupies
``[0, Lx] x [0, Ly] x [0, Lz]``; ``x`` and ``y`` are lateral and ``z`` is depth
into the body, with the skin surface (the illuminated face) at ``z = 0``, the
grid's ``z_min`` face. Voxel ``(i, j, k)`` has its centre at
``((i + 0.5) h, (j + 0.5) h, (k + 0.5) h)``.

How voxels are assigned
-----------------------
A voxel takes the tissue at its centre. Layers are half-open depth intervals
``[top, bottom)``: a voxel centre lying exactly on a boundary (to within
``1e-9`` of a voxel) belongs to the deeper layer. A layer of positive
thickness that contains no voxel centre (such as the 20 um epidermis at
0.25 mm spacing) is *unresolved*: it is listed in
``parameters["unresolved_layers"]``, a :class:`GeometryWarning` is issued, and
its label still exists in :attr:`Phantom.tissues` with 0 voxels. Ellipsoids and
spheres contain the voxels whose centres satisfy
``((x - cx)/a)^2 + ((y - cy)/b)^2 + ((z - cz)/c)^2 <= 1``; the voxelised volume
is within a bound first order in the spacing of ``4/3 pi a b c`` (on average
over sub-voxel shifts the error falls at second order;
tests/validation/test_phantom_geometry.py).

Labels are consecutive integers ``0 .. n-1`` in the order each builder lists
its tissues; the label -> tissue-name map is :attr:`Phantom.tissues`, and
:data:`TISSUE_DEFAULTS` maps each tissue name to the built-in thermal and
optical tissues (:func:`phototherm.tissues.thermal_tissue`,
:func:`phototherm.tissues.optical_tissue`) that stand for it by default.

Every builder checks all its arguments at once and raises one
:class:`~phototherm.errors.InputError` listing every problem with its key path
(e.g. ``mouse_flank_tumour.tumour_semi_axes[2]``).

Examples
--------
>>> import warnings
>>> from phototherm.phantoms import GeometryWarning, layered_slab, mouse_flank_tumour
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore", GeometryWarning)  # the 20 um epidermis is unresolved
...     mouse = mouse_flank_tumour(spacing=0.5e-3)
>>> mouse.grid.shape
(40, 40, 24)
>>> mouse.tissues
{0: 'epidermis', 1: 'dermis', 2: 'fat', 3: 'muscle', 4: 'tumour'}
>>> mouse.parameters["unresolved_layers"]
['epidermis']
>>> int(mouse.structures["tumour"].sum()) == int((mouse.labels == mouse.label_of("tumour")).sum())
True
>>> slab = layered_slab(layers=[("dermis", 1e-3), ("fat", 2e-3), ("muscle", None)], depth=10e-3,
...                     spacing=0.5e-3, lateral_size=(5e-3, 5e-3))
>>> slab.grid.shape, slab.parameters["layers"][-1]
((10, 10, 20), ['muscle', 0.007])
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .errors import InputError, Problem, Problems, reject_unknown_keys
from .grid import Grid

__all__ = [
    "Phantom",
    "GeometryWarning",
    "PHANTOMS",
    "TISSUE_DEFAULTS",
    "MAX_VOXELS",
    "mouse_flank_tumour",
    "layered_slab",
    "sphere_in_block",
    "build_phantom",
]

#: Tissue name used by phantoms -> (built-in thermal tissue name, built-in optical tissue name).
TISSUE_DEFAULTS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "epidermis": ("skin", "epidermis"),
    "dermis": ("skin", "dermis"),
    "skin": ("skin", "dermis"),
    "fat": ("fat", "fat"),
    "muscle": ("muscle", "muscle"),
    "tumour": ("tumour", "tumour"),
    "liver": ("liver", "liver"),
    "blood": ("blood", "blood"),
    "water": ("water", "water"),
})

#: Largest grid a builder accepts (guards against a length given in mm where metres are expected).
MAX_VOXELS = 2**30

#: Relative tolerance within which a length must be a whole number of voxels.
_WHOLE_VOXEL_RTOL = 1e-6

#: A voxel centre within this fraction of a voxel of a layer boundary counts as on it (deeper layer).
_BOUNDARY_SNAP = 1e-9

#: Relative tolerance (of the block length) when checking that a tumour or sphere lies inside the block.
_INSIDE_RTOL = 1e-9


class GeometryWarning(UserWarning):
    """The grid does not resolve part of the requested geometry.

    Causes: a layer thinner than what the spacing resolves (no voxel centre
    falls inside it, e.g. a 20 um epidermis at 0.25 mm spacing), or a tumour
    whose ellipsoid reaches into the skin layers (that part stays skin).
    """


@dataclass(frozen=True, eq=False)
class Phantom:
    """A voxelised phantom: grid, tissue labels and named structures.

    Parameters
    ----------
    grid : Grid
        The voxel grid (lengths in metres); ``z`` is depth, skin at ``z = 0``.
    labels : numpy.ndarray
        Tissue label of every voxel, ``int32`` of shape ``grid.shape``.
    tissues : dict of int to str
        Label -> tissue name (keys of :data:`TISSUE_DEFAULTS` for the built-in
        phantoms). Every label present in ``labels`` has an entry; a tissue may
        have 0 voxels (an unresolved layer).
    structures : dict of str to numpy.ndarray
        Structure name -> boolean mask of shape ``grid.shape`` (e.g.
        ``"tumour"``, ``"healthy"``), for evaluation and planning.
    parameters : dict
        The resolved parameters of the builder (SI units, plain data), plus
        derived entries such as ``"unresolved_layers"``.
    name : str
        Which builder made it: ``"mouse_flank_tumour"``, ``"layered_slab"``
        or ``"sphere_in_block"`` (any name for a phantom built by hand).

    Raises
    ------
    InputError
        ``labels`` or a structure of the wrong shape or type, or a label in
        ``labels`` with no entry in ``tissues``.
    """

    grid: Grid
    labels: np.ndarray = field(repr=False)
    tissues: dict[int, str]
    structures: dict[str, np.ndarray] = field(repr=False)
    parameters: dict = field(repr=False)
    name: str

    def __post_init__(self) -> None:
        problems = Problems()
        labels = np.asarray(self.labels)
        if problems.check(labels.shape == self.grid.shape, "phantom.labels", labels,
                          f"an integer array of shape {self.grid.shape}") and problems.check(
                np.issubdtype(labels.dtype, np.integer), "phantom.labels", labels,
                "an integer array (tissue labels)"):
            present = set(int(v) for v in _present_labels(labels))
            missing = sorted(present - set(self.tissues))
            problems.check(not missing, "phantom.tissues", dict(self.tissues),
                           f"a tissue name for every label in the label map (missing: {missing})")
        for key, mask in self.structures.items():
            mask = np.asarray(mask)
            problems.check(mask.shape == self.grid.shape and mask.dtype == bool,
                           f"phantom.structures.{key}", mask, f"a boolean mask of shape {self.grid.shape}")
        problems.raise_if_any("invalid phantom")
        object.__setattr__(self, "labels", np.ascontiguousarray(labels, dtype=np.int32))
        object.__setattr__(self, "tissues", {int(k): str(v) for k, v in self.tissues.items()})
        object.__setattr__(self, "structures", {str(k): np.asarray(v) for k, v in self.structures.items()})

    def label_of(self, tissue: str) -> int:
        """Label of the tissue named ``tissue``.

        Raises
        ------
        InputError
            If the phantom has no tissue of that name (the message lists those it has).
        """
        for label, name in self.tissues.items():
            if name == tissue:
                return label
        raise InputError(f"no tissue {tissue!r} in phantom {self.name!r}", [
            Problem("tissue", tissue, f"one of {', '.join(self.tissues.values())}")])

    def describe(self) -> dict:
        """Plain-data (JSON-serialisable) summary, lengths in metres, volumes in m^3.

        Returns
        -------
        dict
            ``name``, ``grid`` (:meth:`Grid.describe`), ``parameters``,
            ``tissues`` (a list of ``{"label", "name", "voxels", "volume_m3"}``)
            and ``structures`` (name -> ``{"voxels", "volume_m3"}``).
        """
        values, found = np.unique(self.labels, return_counts=True)
        counts = dict(zip(values.tolist(), found.tolist()))
        dv = self.grid.cell_volume
        tissues = [{"label": int(label), "name": name, "voxels": int(counts.get(label, 0)),
                    "volume_m3": float(counts.get(label, 0) * dv)} for label, name in sorted(self.tissues.items())]
        structures = {}
        for key, mask in self.structures.items():
            n = int(np.count_nonzero(mask))
            structures[key] = {"voxels": n, "volume_m3": float(n * dv)}
        return {"name": self.name, "grid": self.grid.describe(), "parameters": _plain(self.parameters),
                "tissues": tissues, "structures": structures}


# -- builders --------------------------------------------------------------------
def mouse_flank_tumour(
    *,
    spacing: float | Sequence[float] = 0.25e-3,
    size: Sequence[float] = (20e-3, 20e-3, 12e-3),
    epidermis_thickness: float = 20e-6,
    dermis_thickness: float = 0.4e-3,
    fat_thickness: float = 0.5e-3,
    tumour_semi_axes: Sequence[float] = (4e-3, 4e-3, 3e-3),
    tumour_centre: Sequence[float] | None = None,
) -> Phantom:
    """A subcutaneous flank tumour under skin and fat, muscle below.

    Tissues (labels in this order): ``epidermis``, ``dermis``, ``fat``,
    ``muscle``, ``tumour``. The layers, from the skin surface at ``z = 0``,
    are epidermis ``[0, e)``, dermis ``[e, e + d)``, fat
    ``[e + d, e + d + f)`` and muscle down to the bottom of the block. The
    tumour is an ellipsoid painted last: it replaces fat and muscle but never
    the skin layers.

    Parameters
    ----------
    spacing : float or tuple of 3 float
        Voxel size [m]; one number for cubic voxels.
    size : tuple of 3 float
        Block size ``(Lx, Ly, Lz)`` [m], each a whole number of voxels; ``Lz``
        is the depth.
    epidermis_thickness : float
        Epidermis thickness [m] (mouse: 10-25 um); 0 leaves it out.
    dermis_thickness : float
        Dermis thickness [m] (mouse skin: 0.2-0.6 mm in all); 0 leaves it out.
    fat_thickness : float
        Subcutaneous fat thickness [m]; 0 leaves it out.
    tumour_semi_axes : tuple of 3 float
        Semi-axes ``(a, b, c)`` of the tumour ellipsoid along x, y, z [m]
        (mouse tumours: 5-10 mm across).
    tumour_centre : tuple of 3 float, optional
        Tumour centre [m]. Default: centred in x and y, at depth
        ``epidermis + dermis + c`` so that its top touches the bottom of the
        dermis. A centre that makes the ellipsoid reach into the skin is
        allowed (that part stays skin) and issues a :class:`GeometryWarning`.

    Returns
    -------
    Phantom
        Structures: ``"tumour"``, ``"skin"`` (epidermis + dermis), ``"fat"``,
        ``"muscle"`` (these four partition the grid), ``"healthy"`` (everything
        but the tumour) and, in addition, ``"epidermis"`` and ``"dermis"``.
        ``parameters`` holds the arguments resolved (``tumour_centre`` filled
        in, ``size`` as the grid's extent), plus ``"layer_bounds"`` (tissue ->
        ``[top, bottom]`` depth [m]) and ``"unresolved_layers"``.

    Raises
    ------
    InputError
        Every problem at once: non-positive or non-finite lengths (negative
        thicknesses), tuples of the wrong length, a size that is not a whole
        number of voxels, skin and fat not leaving room for muscle, a tumour
        not inside the block, a tumour containing no voxel centre, a grid over
        :data:`MAX_VOXELS`.

    Warns
    -----
    GeometryWarning
        A layer of positive thickness contains no voxel centre; the tumour
        reaches into the skin layers.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", GeometryWarning)
    ...     p = mouse_flank_tumour(spacing=0.5e-3, size=(10e-3, 10e-3, 8e-3),
    ...                            tumour_semi_axes=(3e-3, 3e-3, 2e-3))
    >>> [round(x * 1e3, 6) for x in p.parameters["tumour_centre"]]  # mm: top at 0.02 + 0.4 mm deep
    [5.0, 5.0, 2.42]
    """
    ctx = "mouse_flank_tumour"
    problems = Problems()
    h = _spacing(spacing, f"{ctx}.spacing", problems)
    L = _lengths(size, f"{ctx}.size", 3, problems)
    thick = {
        "epidermis": _length(epidermis_thickness, f"{ctx}.epidermis_thickness", problems, allow_zero=True),
        "dermis": _length(dermis_thickness, f"{ctx}.dermis_thickness", problems, allow_zero=True),
        "fat": _length(fat_thickness, f"{ctx}.fat_thickness", problems, allow_zero=True),
    }
    semi = _lengths(tumour_semi_axes, f"{ctx}.tumour_semi_axes", 3, problems)
    centre = None if tumour_centre is None else _coordinates(tumour_centre, f"{ctx}.tumour_centre", problems)
    shape = _shape(L, h, f"{ctx}.size", problems) if h and L else None

    skin_bottom = None
    if None not in thick.values():
        skin_bottom = thick["epidermis"] + thick["dermis"]
        layers_bottom = skin_bottom + thick["fat"]
        if L:
            problems.check(layers_bottom < L[2] * (1 - _INSIDE_RTOL), f"{ctx}.size[2]", L[2],
                           f"a depth greater than epidermis + dermis + fat = {layers_bottom:g} m, "
                           "leaving room for muscle")
    if semi and L and skin_bottom is not None and tumour_centre is None:
        centre = (L[0] / 2, L[1] / 2, skin_bottom + semi[2])
        _inside_block(centre, semi, L, f"{ctx}.tumour_semi_axes", "tumour", problems, per_axis_path=True)
    elif semi and L and centre:
        _inside_block(centre, semi, L, f"{ctx}.tumour_centre", "tumour", problems, per_axis_path=True)
    if shape:
        _voxel_budget(shape, f"{ctx}.spacing", h, problems)
    problems.raise_if_any(f"invalid {ctx} phantom")

    grid = Grid(shape, h)
    tops = np.cumsum([0.0, thick["epidermis"], thick["dermis"], thick["fat"]])
    names = ["epidermis", "dermis", "fat", "muscle"]
    bounds = list(zip(tops, list(tops[1:]) + [grid.lengths[2]]))
    layer_of_k = _layer_of_depth(grid, tops[1:])
    tissues = dict(enumerate(names + ["tumour"]))
    labels = np.empty(grid.shape, dtype=np.int32)
    labels[...] = layer_of_k.astype(np.int32)[None, None, :]

    inside = _ellipsoid(grid, centre, semi)
    skin_k = layer_of_k <= 1  # epidermis and dermis slices
    tumour = inside & ~skin_k[None, None, :]
    problems.check(tumour.any(), f"{ctx}.tumour_semi_axes", tuple(semi),
                   f"a tumour containing at least one voxel centre below the skin at spacing {_fmt(h)} m")
    problems.raise_if_any(f"invalid {ctx} phantom")
    labels[tumour] = 4

    unresolved = _unresolved(names, bounds, layer_of_k)
    _warn_unresolved(ctx, unresolved, bounds, names, h)
    if np.any(inside & skin_k[None, None, :]) or centre[2] - semi[2] < skin_bottom * (1 - _INSIDE_RTOL):
        warnings.warn(f"{ctx}: the tumour ellipsoid reaches into the skin layers (depth < {skin_bottom:g} m); "
                      "that part stays skin", GeometryWarning, stacklevel=2)

    structures = {
        "tumour": labels == 4,
        "skin": labels <= 1,
        "fat": labels == 2,
        "muscle": labels == 3,
        "epidermis": labels == 0,
        "dermis": labels == 1,
    }
    structures["healthy"] = ~structures["tumour"]
    parameters = {
        "spacing": _spacing_out(grid),
        "size": list(grid.lengths),
        "epidermis_thickness": thick["epidermis"],
        "dermis_thickness": thick["dermis"],
        "fat_thickness": thick["fat"],
        "tumour_semi_axes": list(semi),
        "tumour_centre": list(centre),
        "layer_bounds": {n: [float(a), float(b)] for n, (a, b) in zip(names, bounds)},
        "unresolved_layers": unresolved,
    }
    return Phantom(grid, labels, tissues, structures, parameters, ctx)


def layered_slab(
    *,
    layers: Sequence[tuple[str, float | None]] = (("dermis", 1e-3), ("fat", 1e-3), ("muscle", None)),
    spacing: float | Sequence[float] = 0.25e-3,
    lateral_size: Sequence[float] = (20e-3, 20e-3),
    depth: float | None = None,
) -> Phantom:
    """Planar tissue layers stacked in depth.

    Parameters
    ----------
    layers : sequence of (str, float or None)
        ``(tissue name, thickness [m])`` from the skin surface down. Names are
        keys of :data:`TISSUE_DEFAULTS`; thicknesses are positive. The last
        thickness may be ``None``: that layer fills the rest of ``depth``
        (which is then required). A tissue may appear in more than one layer;
        it has one label (at its first appearance) and one structure (the
        union of its layers).
    spacing : float or tuple of 3 float
        Voxel size [m]; one number for cubic voxels.
    lateral_size : tuple of 2 float
        Block size ``(Lx, Ly)`` [m], each a whole number of voxels.
    depth : float, optional
        Block depth ``Lz`` [m], a whole number of voxels. Default: the sum of
        the thicknesses (all must then be given). If every thickness is given
        as well, they must add up to ``depth``.

    Returns
    -------
    Phantom
        Labels in order of first appearance of each tissue; one structure per
        tissue name. ``parameters["layers"]`` lists ``[name, thickness]`` with
        the last thickness resolved; ``parameters["layer_bounds"]`` gives
        ``[top, bottom]`` [m] of every layer in order;
        ``parameters["unresolved_layers"]`` names layers containing no voxel
        centre (as ``"<index>:<name>"`` when a tissue appears twice).

    Raises
    ------
    InputError
        Every problem at once: no layers, an entry that is not a
        ``(name, thickness)`` pair, an unknown tissue name, a non-positive or
        non-finite thickness, ``None`` as a thickness other than the last, a
        missing ``depth`` when the last thickness is ``None``, a ``depth`` that
        leaves no room for the last layer or does not match the thicknesses,
        lengths that are not a whole number of voxels, a grid over
        :data:`MAX_VOXELS`.

    Warns
    -----
    GeometryWarning
        A layer contains no voxel centre.

    Examples
    --------
    >>> p = layered_slab(spacing=0.5e-3, lateral_size=(4e-3, 4e-3), depth=6e-3)
    >>> p.tissues, p.grid.shape
    ({0: 'dermis', 1: 'fat', 2: 'muscle'}, (8, 8, 12))
    """
    ctx = "layered_slab"
    problems = Problems()
    h = _spacing(spacing, f"{ctx}.spacing", problems)
    lateral = _lengths(lateral_size, f"{ctx}.lateral_size", 2, problems)
    depth_v = None if depth is None else _length(depth, f"{ctx}.depth", problems)

    entries: list[tuple[str | None, float | None]] = []
    layers_ok = True
    if isinstance(layers, (str, bytes, Mapping)) or not _is_sequence(layers) or len(layers) == 0:
        problems.add(f"{ctx}.layers", layers, "a non-empty sequence of (tissue name, thickness [m]) pairs")
        layers_ok = False
    else:
        last = len(layers) - 1
        for i, entry in enumerate(layers):
            path = f"{ctx}.layers[{i}]"
            if isinstance(entry, (str, bytes)) or not _is_sequence(entry) or len(entry) != 2:
                problems.add(path, entry, "a (tissue name, thickness [m]) pair")
                layers_ok = False
                continue
            name = _tissue_name(entry[0], f"{path}[0]", problems)
            if entry[1] is None:
                thickness = None
                if i != last:
                    problems.add(f"{path}[1]", None, "a thickness > 0 [m] (only the last layer may be None)")
                    layers_ok = False
            else:
                thickness = _length(entry[1], f"{path}[1]", problems)
                layers_ok &= thickness is not None
            layers_ok &= name is not None
            entries.append((name, thickness))

    shape_xy = _shape(lateral, h[:2], f"{ctx}.lateral_size", problems) if h and lateral else None
    resolved_depth = None
    if layers_ok:
        given = [t for _, t in entries if t is not None]
        fill = entries[-1][1] is None
        total = math.fsum(given)
        if fill and depth is None:
            problems.add(f"{ctx}.depth", None, "a depth [m] for the last layer (thickness None) to fill")
        elif fill and depth_v is not None:
            if problems.check(total < depth_v * (1 - _INSIDE_RTOL), f"{ctx}.depth", depth,
                              f"a depth [m] greater than the other layers' total, {total:g} m"):
                resolved_depth = depth_v
                entries[-1] = (entries[-1][0], depth_v - total)
        elif not fill and depth is None:
            resolved_depth = total
        elif not fill and depth_v is not None:
            if problems.check(abs(total - depth_v) <= _WHOLE_VOXEL_RTOL * depth_v, f"{ctx}.depth", depth,
                              f"the sum of the layer thicknesses, {total:g} m, or None (or make the last "
                              "thickness None to fill the depth)"):
                resolved_depth = depth_v
    shape_z = None
    if h and resolved_depth is not None:
        key = f"{ctx}.depth" if depth is not None else f"{ctx}.layers"
        shape_z = _shape((resolved_depth,), h[2:], key, problems, shown=None if depth is not None else layers,
                         lead=None if depth is not None else f"layer thicknesses adding up to {resolved_depth:g} m,")
    if shape_xy and shape_z:
        _voxel_budget(shape_xy + shape_z, f"{ctx}.spacing", h, problems)
    problems.raise_if_any(f"invalid {ctx} phantom")

    grid = Grid(shape_xy + shape_z, h)
    thicknesses = [t for _, t in entries]
    tops = np.concatenate([[0.0], np.cumsum(thicknesses[:-1])])
    bounds = list(zip(tops, list(tops[1:]) + [grid.lengths[2]]))
    layer_of_k = _layer_of_depth(grid, tops[1:])
    tissue_names: list[str] = []
    for name, _ in entries:
        if name not in tissue_names:
            tissue_names.append(name)
    label_of_layer = np.array([tissue_names.index(name) for name, _ in entries], dtype=np.int32)
    labels = np.empty(grid.shape, dtype=np.int32)
    labels[...] = label_of_layer[layer_of_k][None, None, :]

    duplicated = len(tissue_names) < len(entries)
    layer_ids = [f"{i}:{name}" if duplicated else name for i, (name, _) in enumerate(entries)]
    unresolved = _unresolved(layer_ids, bounds, layer_of_k)
    _warn_unresolved(ctx, unresolved, bounds, layer_ids, h)

    tissues = dict(enumerate(tissue_names))
    structures = {name: labels == label for label, name in tissues.items()}
    parameters = {
        "layers": [[name, float(t)] for name, t in entries],
        "spacing": _spacing_out(grid),
        "lateral_size": list(grid.lengths[:2]),
        "depth": grid.lengths[2],
        "layer_bounds": [[float(a), float(b)] for a, b in bounds],
        "unresolved_layers": unresolved,
    }
    return Phantom(grid, labels, tissues, structures, parameters, ctx)


def sphere_in_block(
    *,
    radius: float = 3e-3,
    size: Sequence[float] = (20e-3, 20e-3, 20e-3),
    spacing: float | Sequence[float] = 0.25e-3,
    centre: Sequence[float] | None = None,
    inclusion: str = "tumour",
    background: str = "muscle",
) -> Phantom:
    """A spherical inclusion in a homogeneous block.

    Tissues (labels in this order): ``inclusion`` (0), ``background`` (1).

    Parameters
    ----------
    radius : float
        Sphere radius [m].
    size : tuple of 3 float
        Block size ``(Lx, Ly, Lz)`` [m], each a whole number of voxels.
    spacing : float or tuple of 3 float
        Voxel size [m]; one number for cubic voxels.
    centre : tuple of 3 float, optional
        Sphere centre [m]; the sphere must lie inside the block. Default: the
        centre of the block.
    inclusion : str
        Tissue of the sphere, a key of :data:`TISSUE_DEFAULTS`.
    background : str
        Tissue of the rest of the block, a key of :data:`TISSUE_DEFAULTS`,
        different from ``inclusion``.

    Returns
    -------
    Phantom
        Structures: ``inclusion`` (the voxels whose centre lies in the
        sphere), ``background`` and ``"healthy"`` (= background).

    Raises
    ------
    InputError
        Every problem at once: non-positive or non-finite lengths, tuples of
        the wrong length, a size that is not a whole number of voxels, a
        sphere not inside the block or containing no voxel centre, unknown or
        equal tissue names, a grid over :data:`MAX_VOXELS`.

    Examples
    --------
    >>> p = sphere_in_block(radius=1e-3, size=(4e-3, 4e-3, 4e-3), spacing=0.5e-3)
    >>> p.tissues, int(p.structures["tumour"].sum())
    ({0: 'tumour', 1: 'muscle'}, 32)
    """
    ctx = "sphere_in_block"
    problems = Problems()
    r = _length(radius, f"{ctx}.radius", problems)
    L = _lengths(size, f"{ctx}.size", 3, problems)
    h = _spacing(spacing, f"{ctx}.spacing", problems)
    c = None if centre is None else _coordinates(centre, f"{ctx}.centre", problems)
    inc = _tissue_name(inclusion, f"{ctx}.inclusion", problems)
    bg = _tissue_name(background, f"{ctx}.background", problems)
    if inc is not None and bg is not None:
        problems.check(inc != bg, f"{ctx}.inclusion", inclusion, f"a tissue other than the background {bg!r}")
    shape = _shape(L, h, f"{ctx}.size", problems) if h and L else None
    if r is not None and L:
        if centre is None:
            c = tuple(x / 2 for x in L)
            _inside_block(c, (r, r, r), L, f"{ctx}.radius", "sphere", problems, per_axis_path=False)
        elif c:
            _inside_block(c, (r, r, r), L, f"{ctx}.centre", "sphere", problems, per_axis_path=True)
    if shape:
        _voxel_budget(shape, f"{ctx}.spacing", h, problems)
    problems.raise_if_any(f"invalid {ctx} phantom")

    grid = Grid(shape, h)
    inside = _ellipsoid(grid, c, (r, r, r))
    problems.check(inside.any(), f"{ctx}.radius", radius,
                   f"a sphere containing at least one voxel centre at spacing {_fmt(h)} m")
    problems.raise_if_any(f"invalid {ctx} phantom")
    labels = np.where(inside, 0, 1).astype(np.int32)
    structures = {inc: inside, bg: ~inside}
    structures["healthy"] = structures[bg].copy()
    parameters = {
        "radius": r,
        "size": list(grid.lengths),
        "spacing": _spacing_out(grid),
        "centre": [float(x) for x in c],
        "inclusion": inc,
        "background": bg,
    }
    return Phantom(grid, labels, {0: inc, 1: bg}, structures, parameters, ctx)


#: The built-in phantom builders by name.
PHANTOMS: Mapping[str, Callable[..., Phantom]] = MappingProxyType({
    "mouse_flank_tumour": mouse_flank_tumour,
    "layered_slab": layered_slab,
    "sphere_in_block": sphere_in_block,
})

_ARGUMENTS = {
    "mouse_flank_tumour": ("spacing", "size", "epidermis_thickness", "dermis_thickness", "fat_thickness",
                           "tumour_semi_axes", "tumour_centre"),
    "layered_slab": ("layers", "spacing", "lateral_size", "depth"),
    "sphere_in_block": ("radius", "size", "spacing", "centre", "inclusion", "background"),
}


def build_phantom(name: str, **parameters: Any) -> Phantom:
    """Build a built-in phantom by name, with unknown names and keys reported as :class:`InputError`.

    Parameters
    ----------
    name : str
        A key of :data:`PHANTOMS`.
    **parameters
        Keyword arguments of that builder (SI units, see each builder).

    Raises
    ------
    InputError
        Unknown phantom name (the message lists the known ones); unknown
        keyword (named as ``<phantom>.<key>``); any problem the builder finds.

    Examples
    --------
    >>> build_phantom("sphere_in_block", radius=1e-3, size=(4e-3,) * 3, spacing=1e-3).grid.shape
    (4, 4, 4)
    """
    if name not in PHANTOMS:
        raise InputError("unknown phantom", [Problem("phantom", name, f"one of {', '.join(PHANTOMS)}")])
    reject_unknown_keys(parameters, _ARGUMENTS[name], name, f"unknown parameter of phantom {name!r}")
    return PHANTOMS[name](**parameters)


# -- geometry helpers -------------------------------------------------------------
def _layer_of_depth(grid: Grid, boundaries: Sequence[float]) -> np.ndarray:
    """Index of the layer holding each z voxel centre; ``boundaries`` are the layers' bottoms but the last.

    A centre within ``_BOUNDARY_SNAP`` voxels of a boundary belongs to the deeper layer.
    """
    z = grid.centres("z")
    eps = _BOUNDARY_SNAP * grid.spacing[2]
    return np.searchsorted(np.asarray(boundaries, dtype=float) - eps, z, side="right")


def _ellipsoid(grid: Grid, centre: Sequence[float], semi_axes: Sequence[float]) -> np.ndarray:
    """Boolean mask of the voxels whose centre lies in the ellipsoid (boundary included)."""
    q = [((grid.centres(d) - centre[d]) / semi_axes[d]) ** 2 for d in range(3)]
    return (q[0][:, None, None] + q[1][None, :, None] + q[2][None, None, :]) <= 1.0


def _unresolved(names: Sequence[str], bounds, layer_of_k: np.ndarray) -> list[str]:
    """Names of the layers of positive thickness that hold no voxel centre."""
    counts = np.bincount(layer_of_k, minlength=len(names))
    return [name for i, name in enumerate(names) if bounds[i][1] > bounds[i][0] and counts[i] == 0]


def _warn_unresolved(ctx: str, unresolved, bounds, names, h) -> None:
    if not unresolved:
        return
    details = ", ".join(
        f"{n} ({bounds[names.index(n)][1] - bounds[names.index(n)][0]:.3g} m)" for n in unresolved)
    warnings.warn(f"{ctx}: no voxel centre falls in layer(s) {details} at z spacing {h[2]:.3g} m; "
                  "they keep their label but have no voxels", GeometryWarning, stacklevel=3)


def _inside_block(centre, semi, L, path: str, what: str, problems: Problems, *, per_axis_path: bool) -> None:
    """Require ``centre -/+ semi`` inside ``[0, L]`` on every axis.

    One problem per failing axis at ``path[d]`` if ``per_axis_path``, else one problem at ``path``.
    """
    failing = []
    for d in range(3):
        tol = _INSIDE_RTOL * L[d]
        lo, hi = centre[d] - semi[d], centre[d] + semi[d]
        if lo < -tol or hi > L[d] + tol:
            failing.append(f"it spans [{lo:g}, {hi:g}] m along {'xyz'[d]}, the block [0, {L[d]:g}] m")
            if per_axis_path:
                value = centre[d] if path.endswith("centre") else semi[d]
                problems.add(f"{path}[{d}]", value, f"a {what} inside the block: {failing[-1]}")
    if failing and not per_axis_path:
        problems.add(path, semi[0], f"a {what} inside the block: {'; '.join(failing)}")


def _voxel_budget(shape, path: str, h, problems: Problems) -> None:
    n = math.prod(shape)
    problems.check(n <= MAX_VOXELS, path, _spacing_value(h), f"a spacing giving at most {MAX_VOXELS} voxels "
                   f"(this one gives {shape[0]} x {shape[1]} x {shape[2]} = {n}; lengths are in metres)")


def _present_labels(labels: np.ndarray) -> np.ndarray:
    """The distinct values of an integer label map (a bincount when they are small and non-negative)."""
    if labels.size == 0:
        return labels.ravel()
    lo, hi = int(labels.min()), int(labels.max())
    if lo >= 0 and hi < 1_000_000:
        return np.flatnonzero(np.bincount(labels.ravel(), minlength=hi + 1))
    return np.unique(labels)


# -- argument parsing (each records problems and returns None when the value is unusable) --
def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _is_sequence(value) -> bool:
    try:
        len(value)
        iter(value)
    except TypeError:
        return False
    return not isinstance(value, (str, bytes))


def _length(value, path: str, problems: Problems, *, allow_zero: bool = False) -> float | None:
    expected = "a finite length >= 0 [m]" if allow_zero else "a finite length > 0 [m]"
    if not _is_number(value):
        problems.add(path, value, expected)
        return None
    v = float(value)
    if not (math.isfinite(v) and (v >= 0 if allow_zero else v > 0)):
        problems.add(path, value, expected)
        return None
    return v


def _lengths(value, path: str, n: int, problems: Problems) -> tuple[float, ...] | None:
    if not _is_sequence(value) or len(value) != n:
        problems.add(path, value, f"{n} lengths [m], one per axis ({', '.join('xyz'[:n])})")
        return None
    out = [_length(v, f"{path}[{d}]", problems) for d, v in enumerate(value)]
    return None if None in out else tuple(out)


def _coordinates(value, path: str, problems: Problems) -> tuple[float, float, float] | None:
    if not _is_sequence(value) or len(value) != 3:
        problems.add(path, value, "3 coordinates [m], one per axis (x, y, z)")
        return None
    out = []
    for d, v in enumerate(value):
        ok = _is_number(v) and math.isfinite(float(v))
        problems.check(ok, f"{path}[{d}]", v, "a finite coordinate [m]")
        out.append(float(v) if ok else None)
    return None if None in out else tuple(out)


def _spacing(value, path: str, problems: Problems) -> tuple[float, float, float] | None:
    """A scalar (cubic voxels) or 3 per-axis voxel sizes [m], returned as a triple."""
    if _is_number(value):
        v = _length(value, path, problems)
        return None if v is None else (v, v, v)
    if _is_sequence(value) and len(value) == 3:
        return _lengths(value, path, 3, problems)
    problems.add(path, value, "a voxel size > 0 [m], or 3 of them (x, y, z)")
    return None


def _shape(lengths, h, path: str, problems: Problems, *, lead: str | None = None,
           shown: Any = None) -> tuple[int, ...] | None:
    """Voxel counts of ``lengths`` at spacing ``h``, each required to be a whole number >= 1.

    ``lead`` replaces the start of the expectation, ``shown`` the value reported (default: the length).
    """
    shape = []
    for d, (length, hd) in enumerate(zip(lengths, h)):
        n = length / hd
        k = round(n)
        key = f"{path}[{d}]" if len(lengths) > 1 else path
        if k < 1 or abs(n - k) > _WHOLE_VOXEL_RTOL * n:
            start = f"{lead} " if lead else "a length that is "
            problems.add(key, length if shown is None else shown,
                         f"{start}a whole number of voxels of {hd:g} m (here {n:.6g} voxels)")
            shape.append(None)
        else:
            shape.append(int(k))
    return None if None in shape else tuple(shape)


def _tissue_name(value, path: str, problems: Problems) -> str | None:
    if isinstance(value, str) and value in TISSUE_DEFAULTS:
        return value
    problems.add(path, value, f"a tissue name, one of {', '.join(TISSUE_DEFAULTS)}")
    return None


# -- output helpers ----------------------------------------------------------------
def _spacing_value(h):
    return h[0] if len(set(h)) == 1 else list(h)


def _spacing_out(grid: Grid):
    return _spacing_value(grid.spacing)


def _fmt(h) -> str:
    v = _spacing_value(h)
    return f"{v:g}" if isinstance(v, float) else str(v)


def _plain(value):
    """A deep copy of ``value`` with numpy scalars and tuples turned into plain Python data."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value
