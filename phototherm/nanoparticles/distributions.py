"""Nanoparticle number-density maps on a voxel grid.

Each function returns a float64 array of shape ``grid.shape`` holding the
number density N [1/m^3] in every voxel (convert from particles/mL, ug/mL or
nM with :mod:`phototherm.nanoparticles.concentration`). The number of particles
in a region is ``sum(N) * grid.cell_volume``.

* :func:`uniform` — the same density throughout a mask (e.g. the tumour);
* :func:`gaussian` — a Gaussian cloud about an intratumoral injection point,
  normalised to a total particle count or given by its peak density;
* :func:`rim_enhanced` — density rising towards the mask's surface, as after
  intravenous delivery, where particles leave leaky vessels at the tumour
  periphery (EPR effect) and penetrate poorly into the core; normalised to a
  mean density over the mask.

Examples
--------
>>> import numpy as np
>>> from phototherm import Grid
>>> grid = Grid((20, 20, 20), 0.5e-3)
>>> X, Y, Z = grid.mesh()
>>> tumour = (X - 5e-3)**2 + (Y - 5e-3)**2 + (Z - 5e-3)**2 < 3e-3**2
>>> N = rim_enhanced(grid, tumour, 1e15, rim_width=0.5e-3, enhancement=4.0)
>>> bool(np.isclose(N[tumour].mean(), 1e15)), bool(N[10, 10, 10] < N[10, 10, 4])
(True, True)
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, Problem, Problems
from ..grid import Grid

__all__ = ["uniform", "gaussian", "rim_enhanced"]


def _check_grid(grid, problems: Problems) -> bool:
    return problems.check(isinstance(grid, Grid), "grid", grid, "a phototherm Grid")


def _check_mask(mask, grid, problems: Problems, path: str = "mask") -> np.ndarray | None:
    """A boolean array of ``grid.shape`` (booleans or 0/1 numbers), or None after a problem."""
    arr = np.asarray(mask)
    if arr.shape != tuple(grid.shape):
        problems.add(path, mask, f"a boolean array of the grid's shape {tuple(grid.shape)}, got shape {arr.shape}")
        return None
    if arr.dtype != bool:
        if not np.issubdtype(arr.dtype, np.number) or not np.all((arr == 0) | (arr == 1)):
            problems.add(path, mask, "a boolean array (or 0/1 values) marking the voxels the particles occupy")
            return None
        arr = arr.astype(bool)
    if not arr.any():
        problems.add(path, mask, "at least one voxel inside the mask (the mask is empty)")
        return None
    return arr


def _scalar(problems: Problems, value, path: str, unit: str, *, positive: bool) -> float | None:
    if np.ndim(value) != 0:
        problems.add(path, value, f"a single number {unit}")
        return None
    (problems.positive if positive else problems.non_negative)(value, path, unit)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) and (v > 0 or (not positive and v == 0)) else None


def uniform(grid: Grid, mask, density: float) -> np.ndarray:
    """The same number density in every voxel of a mask, zero elsewhere.

    Parameters
    ----------
    grid : Grid
    mask : ndarray of bool, shape ``grid.shape``
        Voxels holding particles (e.g. the tumour label).
    density : float
        Number density inside the mask [1/m^3] (1e9 particles/mL = 1e15 1/m^3).

    Returns
    -------
    ndarray of float64, shape ``grid.shape``
        N [1/m^3]; the total is ``density * mask.sum() * grid.cell_volume``.

    Raises
    ------
    InputError
        Not a Grid; a mask of the wrong shape, not boolean, or empty; a
        negative, NaN or infinite density.
    """
    problems = Problems()
    if not _check_grid(grid, problems):
        problems.raise_if_any("invalid uniform nanoparticle distribution")
    m = _check_mask(mask, grid, problems)
    d = _scalar(problems, density, "density", "[1/m^3]", positive=False)
    problems.raise_if_any("invalid uniform nanoparticle distribution")
    return np.where(m, d, 0.0)


def gaussian(grid: Grid, centre, sigma, *, total_particles: float | None = None,
             peak_density: float | None = None, mask=None) -> np.ndarray:
    """A Gaussian cloud of particles about a point (an intratumoral injection).

    ``N(r) = N0 exp(-sum_i (r_i - c_i)^2 / (2 sigma_i^2))``, evaluated at voxel
    centres, zero outside ``mask``.

    Parameters
    ----------
    grid : Grid
    centre : sequence of 3 float
        Centre of the cloud [m] (need not be a voxel centre).
    sigma : float or sequence of 3 float
        Standard deviation of the cloud along x, y, z [m].
    total_particles : float, optional
        Number of particles in the grid (dimensionless count). The discrete
        map is scaled so that ``sum(N) * grid.cell_volume == total_particles``
        exactly: particles cut off by the mask or the grid's edges are put
        back into the voxels that remain (the injected dose stays in the
        tissue you model).
    peak_density : float, optional
        ``N0`` [1/m^3], the density at the centre; the map is not rescaled.
        Give exactly one of ``total_particles`` and ``peak_density``.
    mask : ndarray of bool, optional
        Voxels that may hold particles (e.g. the tumour); default everywhere.

    Returns
    -------
    ndarray of float64, shape ``grid.shape``
        N [1/m^3].

    Raises
    ------
    InputError
        Both or neither of ``total_particles`` and ``peak_density``; a
        non-finite centre; a non-positive sigma; a negative count or density;
        a bad mask; a cloud that puts no weight inside the mask (so the total
        cannot be placed). Every problem is reported.
    """
    problems = Problems()
    if not _check_grid(grid, problems):
        problems.raise_if_any("invalid Gaussian nanoparticle distribution")
    m = np.ones(grid.shape, dtype=bool) if mask is None else _check_mask(mask, grid, problems)
    c = _triple(problems, centre, "centre", "a point (x, y, z) [m]")
    s = _triple(problems, (sigma,) * 3 if np.ndim(sigma) == 0 else sigma, "sigma", "standard deviations [m]")
    if s is not None:
        for d, v in enumerate(s):
            problems.positive(v, f"sigma[{d}]", "[m]")
    if (total_particles is None) == (peak_density is None):
        problems.add("total_particles, peak_density", (total_particles, peak_density),
                     "exactly one of them: a particle count, or a peak density [1/m^3]")
    elif total_particles is not None:
        _scalar(problems, total_particles, "total_particles", "(a count)", positive=False)
    else:
        _scalar(problems, peak_density, "peak_density", "[1/m^3]", positive=False)
    problems.raise_if_any("invalid Gaussian nanoparticle distribution")

    coords = grid.mesh()
    exponent = sum((x - ci) ** 2 / (2.0 * si**2) for x, ci, si in zip(coords, c, s))
    shape = np.where(m, np.exp(-exponent), 0.0)
    if peak_density is not None:
        return float(peak_density) * shape
    weight = shape.sum() * grid.cell_volume
    if not weight > 0:
        raise InputError("invalid Gaussian nanoparticle distribution", [Problem(
            "centre", tuple(c), "a cloud that reaches the mask (exp(-r^2/2 sigma^2) underflows in every voxel)")])
    return shape * (float(total_particles) / weight)


def rim_enhanced(grid: Grid, mask, mean_density: float, *, rim_width: float, enhancement: float) -> np.ndarray:
    """Density rising towards the mask's surface (periphery-weighted, after IV delivery).

    ``N(d) = K (1 + (E - 1) exp(-d / w))``, with ``d`` the depth of a voxel
    centre below the mask's surface, ``w = rim_width``, ``E = enhancement``:
    the density at the surface is ``E`` times the density deep inside.
    ``K`` is chosen so the **mean over the mask equals** ``mean_density``
    exactly, i.e. the mask holds ``mean_density * mask.sum() * cell_volume``
    particles, the same as :func:`uniform` with that density.

    The depth is the Euclidean distance from the voxel centre to the nearest
    voxel centre outside the mask (``scipy.ndimage.distance_transform_edt``
    with the grid spacing), minus half the smallest voxel size: the surface
    lies midway between the last inside and the first outside centre, so
    surface voxels have ``d`` of about half a voxel. The faces of the grid
    are not a surface (the tissue continues beyond the modelled region).

    Parameters
    ----------
    grid : Grid
    mask : ndarray of bool, shape ``grid.shape``
        The tumour (or any region); must leave at least one voxel outside.
    mean_density : float
        Mean number density over the mask [1/m^3].
    rim_width : float
        Decay length ``w`` of the enhancement into the mask [m] (typically
        0.2-1 mm for EPR delivery).
    enhancement : float
        Ratio ``E >= 1`` of the density at the surface to the density deep
        inside (1 gives :func:`uniform`).

    Returns
    -------
    ndarray of float64, shape ``grid.shape``
        N [1/m^3], zero outside the mask.

    Raises
    ------
    InputError
        Bad grid or mask (including a mask filling the whole grid, which has
        no surface), negative mean density, non-positive rim width,
        enhancement < 1.
    """
    problems = Problems()
    if not _check_grid(grid, problems):
        problems.raise_if_any("invalid rim-enhanced nanoparticle distribution")
    m = _check_mask(mask, grid, problems)
    if m is not None and m.all():
        problems.add("mask", mask, "a region with a surface: at least one voxel outside the mask")
        m = None
    mean = _scalar(problems, mean_density, "mean_density", "[1/m^3]", positive=False)
    w = _scalar(problems, rim_width, "rim_width", "[m]", positive=True)
    if np.ndim(enhancement) != 0:
        problems.add("enhancement", enhancement, "a single number >= 1")
    else:
        problems.check(np.isfinite(_float(enhancement)) and _float(enhancement) >= 1.0, "enhancement", enhancement,
                       "a ratio >= 1 of the density at the surface to that deep inside")
    problems.raise_if_any("invalid rim-enhanced nanoparticle distribution")

    from scipy.ndimage import distance_transform_edt  # lazy import

    distance = distance_transform_edt(m, sampling=grid.spacing)
    depth = np.maximum(distance - 0.5 * min(grid.spacing), 0.0)
    profile = 1.0 + (float(enhancement) - 1.0) * np.exp(-depth / w)
    profile = np.where(m, profile, 0.0)
    return profile * (mean * m.sum() / profile.sum())


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _triple(problems: Problems, value, path: str, what: str):
    try:
        items = [float(v) for v in value]
    except (TypeError, ValueError):
        problems.add(path, value, f"three numbers: {what}")
        return None
    if len(items) != 3:
        problems.add(path, value, f"three numbers: {what}")
        return None
    for d, v in enumerate(items):
        problems.finite(v, f"{path}[{d}]", "[m]")
    return items
