"""Cell-centred voxel grid.

Fields live on an ``(nx, ny, nz)`` array of voxels. Voxel ``(i, j, k)`` has its
centre at ``origin + (index + 0.5) * spacing``: the grid's ``origin`` is the
*corner* of the first voxel, so the grid covers
``[origin, origin + shape * spacing]`` on every axis. Arrays are stored
C-ordered (z fastest); :mod:`phototherm.io.vtk` converts to VTK's x-fastest
order.

By convention in the built-in examples, ``z`` is depth into the body: the skin
surface is the ``z_min`` face.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import Problems

__all__ = ["Grid", "AXES", "FACES"]

#: Axis names in array order.
AXES = ("x", "y", "z")

#: The six faces of the grid's bounding box, in a fixed order.
FACES = ("x_min", "x_max", "y_min", "y_max", "z_min", "z_max")


@dataclass(frozen=True)
class Grid:
    """A uniform, cell-centred voxel grid.

    Parameters
    ----------
    shape : tuple of 3 int
        Number of voxels along x, y, z.
    spacing : float or tuple of 3 float
        Voxel size along each axis [m]. A single number means cubic voxels.
    origin : tuple of 3 float, optional
        Position of the outer corner of voxel ``(0, 0, 0)`` [m]. Default zero.

    Raises
    ------
    InputError
        Non-integer or non-positive shape; non-positive, NaN or infinite
        spacing; non-finite origin. Every problem is reported.

    Examples
    --------
    >>> g = Grid(shape=(40, 40, 30), spacing=0.5e-3)
    >>> g.size, g.cell_volume
    (48000, 1.25e-10)
    >>> g.centres("z")[:2]
    array([0.00025, 0.00075])
    """

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __init__(
        self,
        shape: Sequence[int],
        spacing: float | Sequence[float],
        origin: Sequence[float] = (0.0, 0.0, 0.0),
    ):
        problems = Problems()
        shape_t = _triple(shape, "grid.shape", problems)
        spacing_t = _triple(
            (spacing,) * 3 if np.isscalar(spacing) else spacing, "grid.spacing", problems
        )
        origin_t = _triple(origin, "grid.origin", problems)
        for d, n in _numbers(shape_t):
            problems.check(float(n).is_integer() and n >= 1, f"grid.shape[{d}]", n, "a whole number of voxels >= 1")
        for d, h in _numbers(spacing_t):
            problems.positive(h, f"grid.spacing[{d}]", "[m]")
        for d, o in _numbers(origin_t):
            problems.finite(o, f"grid.origin[{d}]", "[m]")
        problems.raise_if_any("invalid grid")
        object.__setattr__(self, "shape", tuple(int(n) for n in shape_t))
        object.__setattr__(self, "spacing", tuple(float(h) for h in spacing_t))
        object.__setattr__(self, "origin", tuple(float(o) for o in origin_t))

    # -- sizes -------------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of voxels."""
        return int(np.prod(self.shape))

    @property
    def cell_volume(self) -> float:
        """Volume of one voxel [m^3]."""
        return float(np.prod(self.spacing))

    @property
    def lengths(self) -> tuple[float, float, float]:
        """Edge lengths of the grid's bounding box [m]."""
        return tuple(n * h for n, h in zip(self.shape, self.spacing))

    @property
    def bounds(self) -> tuple[tuple[float, float], ...]:
        """``((x_lo, x_hi), (y_lo, y_hi), (z_lo, z_hi))`` of the bounding box [m]."""
        return tuple((o, o + L) for o, L in zip(self.origin, self.lengths))

    # -- coordinates -------------------------------------------------------
    def centres(self, axis: int | str) -> np.ndarray:
        """Voxel-centre coordinates along one axis [m], shape ``(n,)``."""
        d = _axis_index(axis)
        return self.origin[d] + (np.arange(self.shape[d]) + 0.5) * self.spacing[d]

    def mesh(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Voxel-centre coordinates ``(X, Y, Z)``, each of shape ``grid.shape`` [m]."""
        return tuple(np.meshgrid(*(self.centres(d) for d in range(3)), indexing="ij"))

    def contains(self, point: Sequence[float]) -> bool:
        """Whether ``point`` [m] lies inside the grid's bounding box (edges included)."""
        return all(lo <= p <= hi for p, (lo, hi) in zip(point, self.bounds))

    def index_of(self, point: Sequence[float]) -> tuple[int, int, int]:
        """Index of the voxel containing ``point`` [m].

        Raises
        ------
        InputError
            If the point lies outside the grid.
        """
        problems = Problems()
        problems.check(
            len(point) == 3 and self.contains(point),
            "point",
            tuple(point),
            f"a point inside the grid bounds {self.bounds} [m]",
        )
        problems.raise_if_any("point outside the grid")
        idx = [
            min(int((p - o) // h), n - 1)
            for p, o, h, n in zip(point, self.origin, self.spacing, self.shape)
        ]
        return tuple(idx)

    def centre_of(self, index: Sequence[int]) -> tuple[float, float, float]:
        """Coordinates of the centre of voxel ``index`` [m]."""
        return tuple(o + (i + 0.5) * h for i, o, h in zip(index, self.origin, self.spacing))

    def describe(self) -> dict:
        """Plain-data description (for summaries), lengths in metres."""
        return {"shape": list(self.shape), "spacing_m": list(self.spacing), "origin_m": list(self.origin)}


def _axis_index(axis: int | str) -> int:
    if isinstance(axis, str):
        return AXES.index(axis)
    return int(axis)


def _triple(value, path: str, problems: Problems):
    """Three per-axis entries as floats; an entry that is not a number is reported and kept as None."""
    try:
        items = tuple(value)
    except TypeError:
        items = ()
    if len(items) != 3:
        problems.add(path, value, "three values, one per axis (x, y, z)")
        return None
    out = []
    for d, v in enumerate(items):
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            problems.add(f"{path}[{d}]", v, "a number")
            out.append(None)
    return tuple(out)


def _numbers(triple):
    """``(axis, value)`` for the entries of a parsed triple that are numbers."""
    return [(d, v) for d, v in enumerate(triple or ()) if v is not None]
