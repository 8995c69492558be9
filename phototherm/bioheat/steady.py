"""Steady-state temperature of a model (no time dependence).

Solves ``conduction(T) + w_b rho_b c_b (T_a - T) + boundary terms + Q_met
(+ sources at a fixed level) = 0`` with the conjugate-gradient solver of the
implicit steppers. Useful as the initial condition of a treatment: the baseline
temperature of perfused tissue under a cooled skin surface.
"""

from __future__ import annotations

import numpy as np

from ..backend import resolve_backend, to_host
from ..errors import InputError, Problem
from .implicit import conjugate_gradient
from .model import PennesModel
from .state import DeviceModel
from .stencil import conduction, conduction_diagonal

__all__ = ["steady_state_temperature"]


def steady_state_temperature(
    model: PennesModel,
    *,
    source_level: float = 0.0,
    device: str | None = "cpu",
    rtol: float = 1e-10,
    max_iterations: int = 20000,
) -> np.ndarray:
    """Steady temperature [C] of ``model``, with its heat sources at ``source_level``.

    Parameters
    ----------
    model : PennesModel
    source_level : float
        Schedule level applied to every heat source (0: baseline without
        external heating; 1: the maps' nominal power).
    device : str, optional
        Backend for the solve (default CPU, float64).
    rtol : float
        Conjugate-gradient relative tolerance.
    max_iterations : int

    Raises
    ------
    InputError
        If nothing anchors the temperature (no perfusion, no fixed or
        convective boundary): the steady problem then has no unique solution.
    """
    coeff = model.coefficients
    if not (np.any(coeff.perfusion > 0) or np.any(coeff.boundary > 0)):
        raise InputError(
            "no unique steady state",
            [Problem("model", "no perfusion and all boundaries insulated or periodic",
                     "perfusion somewhere or a fixed-temperature or convective boundary")],
        )
    backend = resolve_backend(device, "float64")
    dev = DeviceModel(model, backend)
    xp = backend.xp
    sink = dev.perfusion + dev.boundary
    rhs = dev.perfusion * model.arterial_temperature + dev.constant_source
    for source in dev.source_fields:
        rhs = rhs + source_level * source

    def apply(v):
        return sink * v - conduction(v, dev.faces)

    inv_diagonal = 1.0 / (sink + conduction_diagonal(dev.faces, model.grid.shape))
    T, _ = conjugate_gradient(
        apply, rhs, inv_diagonal, xp.full(model.grid.shape, model.arterial_temperature),
        rtol=rtol, max_iterations=max_iterations,
    )
    return to_host(T)
