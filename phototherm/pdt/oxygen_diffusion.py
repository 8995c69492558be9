"""Optional diffusion of ground-state oxygen between voxels during PDT.

The macroscopic model (:mod:`phototherm.pdt.kinetics`) supplies oxygen to each
voxel through the vascular term ``g (1 - [3O2]/[3O2]0)`` alone: voxels do not
exchange oxygen. With an oxygen diffusivity ``D`` [m^2/s] the oxygen equation
gains ``div(D grad [3O2])``, which lets well-oxygenated tissue around a
depleted, strongly lit region (near a fibre or under a beam) resupply it.

Method
------
Operator splitting (Lie): each step first advances the kinetics (reaction and
vascular supply, per voxel) and then the diffusion

    d[3O2]/dt = div(D grad [3O2])

by one backward-Euler step on the cell-centred grid with the bioheat
conduction stencil (:func:`phototherm.bioheat.stencil.face_conductances`:
harmonic-mean face coefficients ``2 D_i D_j / (D_i + D_j) / h^2`` [1/s]) and
the Jacobi-preconditioned conjugate gradients of the implicit bioheat
steppers, on NumPy or CuPy arrays alike (no separate kernel). Backward Euler
is unconditionally stable and keeps concentrations non-negative (the matrix
is an M-matrix), at first order in the step. Every face of the grid is
impermeable (no oxygen flux): oxygen enters only through the vascular supply
term.

Accuracy: the splitting and backward Euler are each first order in the step
``dt``; for a uniform supply rate the two operators commute on a Fourier mode
and the splitting error vanishes, which the validation test uses
(tests/validation/test_oxygen_diffusion.py). Oxygen diffusion spreads over
``sqrt(D dt)``: with ``D = 2e-9 m^2/s`` that is 45 um in a 1 s step, so
steps up to a few seconds resolve transport on the scale of 0.1-1 mm voxels.

Where it holds: oxygen diffuses in tissue with ``D`` of order 1e-9 to
2e-9 m^2/s; this module adds that transport to a model whose supply term
already lumps the capillary delivery, so with diffusion on, ``g`` describes
local vascular supply only. It is not a model of the tissue oxygen field
around individual capillaries (the Krogh-cylinder scale, tens of um).
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..bioheat.implicit import conjugate_gradient
from ..bioheat.stencil import conduction, conduction_diagonal, face_conductances
from ..errors import Problems

__all__ = ["OxygenDiffusion", "DEFAULT_RTOL", "check_diffusivity"]

#: Relative tolerance of the CG solve per floating-point type (of the increment).
DEFAULT_RTOL = {"float32": 1e-5, "float64": 1e-10}

_MAX_ITERATIONS = 10_000


def check_diffusivity(value, shape, path: str, problems: Problems) -> None:
    """Record a problem unless ``value`` is a number or an array of ``shape``, finite and > 0 [m^2/s]."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        problems.add(path, value, "a diffusivity > 0 [m^2/s], a number or an array of the grid's shape")
        return
    if problems.check(array.ndim == 0 or array.shape == tuple(shape), path, value,
                      f"a number or an array of shape {tuple(shape)} [m^2/s]"):
        problems.positive(array, path, "[m^2/s]")


class OxygenDiffusion:
    """Backward-Euler oxygen diffusion on a voxel grid with impermeable faces.

    Parameters
    ----------
    diffusivity : float or ndarray
        Oxygen diffusivity ``D`` [m^2/s], uniform or per voxel (> 0).
    grid : Grid
    xp : module
        :mod:`numpy` or :mod:`cupy` (where the oxygen field lives).
    dtype : dtype
        Floating type of the oxygen field.
    rtol : float, optional
        Relative residual tolerance of the CG solve (default
        :data:`DEFAULT_RTOL`).

    Examples
    --------
    >>> import numpy as np, phototherm as pt
    >>> from phototherm.pdt.oxygen_diffusion import OxygenDiffusion
    >>> grid = pt.Grid((8, 8, 8), 0.1e-3)
    >>> oxygen = np.full(grid.shape, 40.0); oxygen[4, 4, 4] = 0.0
    >>> OxygenDiffusion(2e-9, grid, np, np.float64).step(oxygen, 1.0)
    >>> round(float(oxygen.sum()), 6) == 40.0 * 511   # oxygen is conserved
    True
    """

    def __init__(self, diffusivity, grid, xp, dtype, rtol: float | None = None) -> None:
        problems = Problems()
        check_diffusivity(diffusivity, grid.shape, "oxygen_diffusivity", problems)
        problems.raise_if_any("invalid oxygen diffusion")
        d = np.broadcast_to(np.asarray(diffusivity, dtype=float), grid.shape)
        self.faces = face_conductances(xp.asarray(d, dtype=dtype), grid.spacing, (False, False, False))
        self._diagonal = conduction_diagonal(self.faces, grid.shape)
        self.rtol = DEFAULT_RTOL[np.dtype(dtype).name] if rtol is None else rtol
        self.iterations = 0

    def step(self, oxygen, dt: float) -> None:
        """Advance ``oxygen`` [uM] by one backward-Euler diffusion step of ``dt`` [s], in place.

        Solves ``(I/dt - L) delta = L [3O2]`` for the increment ``delta`` (L:
        the conduction stencil with the diffusivity) by Jacobi-preconditioned
        CG and adds it; negative rounding residues are clamped at 0.
        """
        xp = array_module(oxygen)
        inv_dt = oxygen.dtype.type(1.0 / dt)
        rhs = conduction(oxygen, self.faces)
        inv_diagonal = 1 / (inv_dt + self._diagonal)

        def apply(v):
            return inv_dt * v - conduction(v, self.faces)

        delta, iterations = conjugate_gradient(apply, rhs, inv_diagonal, xp.zeros_like(oxygen), rtol=self.rtol,
                                               max_iterations=_MAX_ITERATIONS)
        self.iterations += iterations
        oxygen += delta
        xp.maximum(oxygen, 0, out=oxygen)
