"""Conservative 7-point conduction stencil on a cell-centred grid.

Between neighbouring voxels i and j along axis d the face conductance per unit
volume is the harmonic mean

    g_ij = 2 k_i k_j / (k_i + k_j) / h_d^2          [W/(m^3 K)]

and voxel i gains ``g_ij (T_j - T_i)``. The same g serves both voxels, so the
heat leaving one enters the other exactly: the scheme conserves energy to
rounding. The CUDA kernel computes g on the fly from k with this formula; the
NumPy functions here precompute it once.

Functions work on NumPy or CuPy arrays. :func:`conduction` evaluates the term
for an x-slab of voxels ``[i0, i1)`` so the CPU path can split the grid into
cache-sized slabs processed by several threads.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backend import array_module

__all__ = ["FaceConductances", "face_conductances", "conduction", "conduction_diagonal"]


@dataclass(frozen=True)
class FaceConductances:
    """Face conductances per unit volume [W/(m^3 K)].

    Attributes
    ----------
    interior : tuple of 3 arrays
        ``interior[d]`` has one entry per face between voxels ``n`` and
        ``n + 1`` along axis d: its shape is ``grid.shape`` with ``n_d - 1``
        on axis d.
    wrap : tuple of 3 (array or None)
        For a periodic axis, the face joining the last voxel to the first: a
        plane of shape ``grid.shape`` with 1 on axis d. ``None`` otherwise.
    """

    interior: tuple
    wrap: tuple


def harmonic_face(k_lo, k_hi, inv_h2):
    """``2 k_lo k_hi / (k_lo + k_hi) * inv_h2``, the formula the kernel uses."""
    return 2 * k_lo * k_hi / (k_lo + k_hi) * inv_h2


def face_conductances(conductivity, spacing, periodic) -> FaceConductances:
    """Harmonic-mean face conductances of a conductivity map.

    Parameters
    ----------
    conductivity : array, shape (nx, ny, nz)
        k [W/(m K)], strictly positive.
    spacing : tuple of 3 float
        Voxel size [m].
    periodic : tuple of 3 bool
        Periodic axes.
    """
    k = conductivity
    c = k.dtype.type
    interior, wrap = [], []
    for d in range(3):
        inv_h2 = c(1.0 / spacing[d] ** 2)
        interior.append(harmonic_face(_take(k, d, slice(None, -1)), _take(k, d, slice(1, None)), inv_h2))
        wrap.append(
            harmonic_face(_take(k, d, slice(-1, None)), _take(k, d, slice(0, 1)), inv_h2) if periodic[d] else None
        )
    return FaceConductances(tuple(interior), tuple(wrap))


def conduction(T, faces: FaceConductances, i0: int = 0, i1: int | None = None):
    """Net conductive heat gain of the voxels in the x-slab ``[i0, i1)`` [W/m^3].

    Parameters
    ----------
    T : array, shape (nx, ny, nz)
        Temperature [C] of the whole grid (the slab reads one plane beyond each end).
    faces : FaceConductances
    i0, i1 : int
        The slab; default the whole grid.

    Returns
    -------
    array, shape (i1 - i0, ny, nz)
    """
    xp = array_module(T)
    nx = T.shape[0]
    i1 = nx if i1 is None else i1
    lo, hi = max(i0 - 1, 0), min(i1 + 1, nx)
    window = T[lo:hi]
    gain = xp.zeros_like(window)
    _add_interior(gain, window, faces.interior[0][lo : hi - 1], axis=0)
    gain = gain[i0 - lo : i1 - lo]
    own = T[i0:i1]
    for d in (1, 2):
        _add_interior(gain, own, faces.interior[d][i0:i1], axis=d)
        if faces.wrap[d] is not None:
            _add_wrap(gain, own, faces.wrap[d][i0:i1], axis=d)
    if faces.wrap[0] is not None and (i0 == 0 or i1 == nx):
        flux = faces.wrap[0][0] * (T[0] - T[nx - 1])  # into voxel nx-1 from voxel 0
        if i1 == nx:
            gain[-1] += flux
        if i0 == 0:
            gain[0] -= flux
    return gain


def conduction_diagonal(faces: FaceConductances, shape):
    """Sum of the face conductances of each voxel [W/(m^3 K)] (diagonal of -conduction)."""
    xp = array_module(faces.interior[0])
    diag = xp.zeros(shape, dtype=faces.interior[0].dtype)
    for d in range(3):
        g = faces.interior[d]
        _take(diag, d, slice(None, -1))[...] += g
        _take(diag, d, slice(1, None))[...] += g
        if faces.wrap[d] is not None:
            _take(diag, d, slice(-1, None))[...] += faces.wrap[d]
            _take(diag, d, slice(0, 1))[...] += faces.wrap[d]
    return diag


def _take(a, axis: int, s: slice):
    index = [slice(None)] * a.ndim
    index[axis] = s
    return a[tuple(index)]


def _add_interior(gain, T, g, axis: int) -> None:
    """Add the flux through the interior faces along ``axis`` to ``gain`` in place."""
    flux = g * (_take(T, axis, slice(1, None)) - _take(T, axis, slice(None, -1)))
    _take(gain, axis, slice(None, -1))[...] += flux
    _take(gain, axis, slice(1, None))[...] -= flux


def _add_wrap(gain, T, g, axis: int) -> None:
    """Add the flux through the periodic face joining the last plane to the first."""
    flux = g * (_take(T, axis, slice(0, 1)) - _take(T, axis, slice(-1, None)))
    _take(gain, axis, slice(-1, None))[...] += flux
    _take(gain, axis, slice(0, 1))[...] -= flux
