"""Implicit theta-method steppers: backward Euler and Crank-Nicolson.

For steps longer than the explicit limit. Writing the heat balance as
``rho c dT/dt = L T + f`` (L: conduction minus the perfusion and boundary
sinks, linear and symmetric), one step solves

    (rho c / dt - theta L) delta = L T^n + f,        T^{n+1} = T^n + delta,

with ``theta = 1`` (backward Euler: first order in time, unconditionally
stable and monotone for stiff modes) or ``theta = 1/2`` (Crank-Nicolson:
second order, but fast modes ring when ``dt`` is far above the explicit limit).
The matrix is symmetric positive definite, so the system is solved by
conjugate gradients with a Jacobi (diagonal) preconditioner. The same code runs
on NumPy and CuPy arrays, so both backends take the same iterations. Solving
for the increment ``delta`` rather than ``T^{n+1}`` keeps the relative
tolerance meaningful in float32.

Perfusion shutdown and the heat-source schedule are taken over the step as in
the explicit method (dose at the start of the step; exact mean of p(t)).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import SolverDidNotConverge
from .balance import accumulate_dose, heat_gain
from .state import DeviceModel, StepParameters, ThermalState
from .stencil import conduction, conduction_diagonal

__all__ = ["ThetaStepper", "conjugate_gradient"]

#: Default relative residual tolerance of the CG solve, per floating-point type.
DEFAULT_RTOL = {"float32": 1e-5, "float64": 1e-10}


#: Restarts of conjugate gradients from the true residual (see :func:`conjugate_gradient`).
MAX_RESTARTS = 3


def conjugate_gradient(apply, b, inv_diagonal, x0, *, rtol: float, max_iterations: int):
    """Jacobi-preconditioned conjugate gradients for a symmetric positive-definite operator.

    Parameters
    ----------
    apply : callable
        ``apply(v)`` returns the operator applied to ``v``.
    b : array
        Right-hand side.
    inv_diagonal : array
        Inverse of the operator's diagonal (the preconditioner).
    x0 : array
        Initial guess (not modified).
    rtol : float
        Stop when the true residual ``||b - A x|| <= rtol ||b||``. Convergence of
        the recursively updated residual is confirmed on the true one; if they
        differ (rounding, mostly in float32), CG restarts from the current
        ``x`` with the true residual, up to ``MAX_RESTARTS`` times while that
        improves it.
    max_iterations : int

    Returns
    -------
    x : array
    iterations : int

    Raises
    ------
    SolverDidNotConverge
        If the tolerance is not met within ``max_iterations``.
    """
    b_norm = _norm(b)
    x = x0.copy()
    if b_norm == 0.0:
        return x * 0, 0
    tolerance = rtol * b_norm
    iteration = 0
    best = math.inf
    for restart in range(MAX_RESTARTS + 1):
        # The residual CG updates recursively drifts from the true one in float32;
        # each (re)start uses the true residual, and convergence is confirmed on it.
        r = b - apply(x)
        true_residual = _norm(r)
        if true_residual <= tolerance:
            return x, iteration
        if true_residual >= best:
            break  # a restart did not improve: rounding limits the attainable residual
        best = true_residual
        z = inv_diagonal * r
        p = z.copy()
        rz = _dot(r, z)
        while iteration < max_iterations:
            iteration += 1
            Ap = apply(p)
            alpha = rz / _dot(p, Ap)
            x += x.dtype.type(alpha) * p
            r -= r.dtype.type(alpha) * Ap
            if _norm(r) <= tolerance:
                break
            z = inv_diagonal * r
            rz_next = _dot(r, z)
            p = z + p.dtype.type(rz_next / rz) * p
            rz = rz_next
        else:
            true_residual = _norm(b - apply(x))
            break
    else:
        true_residual = _norm(b - apply(x))
        if true_residual <= tolerance:
            return x, iteration
    raise SolverDidNotConverge(
        f"conjugate gradients reached relative residual {true_residual / b_norm:.3g} after "
        f"{iteration} iterations (tolerance {rtol:g}, maximum {max_iterations}); raise max_iterations, "
        "loosen the tolerance, use float64 or a shorter step"
    )


def _dot(a, b) -> float:
    return float((a * b).sum(dtype=np.float64))


def _norm(a) -> float:
    return _dot(a, a) ** 0.5


class ThetaStepper:
    """Theta-method stepper (``theta=1`` backward Euler, ``0.5`` Crank-Nicolson).

    Parameters
    ----------
    dev : DeviceModel
    state : ThermalState
    theta : float
        Implicitness, in ``[0.5, 1]``.
    time_above_threshold : float
        Threshold of the time-above map [C].
    rtol : float, optional
        CG relative tolerance; default 1e-10 (float64) or 1e-5 (float32).
    max_iterations : int
        CG iteration limit per step.

    Attributes
    ----------
    iterations : list of int
        CG iterations taken by each step so far.
    """

    def __init__(self, dev: DeviceModel, state: ThermalState, *, theta: float, time_above_threshold: float,
                 rtol: float | None = None, max_iterations: int = 2000):
        self.dev = dev
        self.state = state
        self.theta = float(theta)
        self.name = {1.0: "backward-euler", 0.5: "crank-nicolson"}.get(self.theta, f"theta={self.theta:g}")
        self.time_above_threshold = float(time_above_threshold)
        self.rtol = rtol if rtol is not None else DEFAULT_RTOL[dev.backend.dtype.name]
        self.max_iterations = int(max_iterations)
        self.iterations: list[int] = []
        self._conduction_diagonal = conduction_diagonal(dev.faces, state.temperature.shape)
        self._previous_delta = None

    def step(self, t0: float, t1: float) -> None:
        """Advance the state from ``t0`` to ``t1`` [s]."""
        dev, state = self.dev, self.state
        real = state.temperature.dtype.type
        heat, scale = dev.heat_source(t0, t1)
        params = StepParameters(
            dt=t1 - t0,
            source_scale=scale,
            arterial_temperature=dev.model.arterial_temperature,
            time_above_threshold=self.time_above_threshold,
        )
        T = state.temperature
        factor = dev.perfusion_factor(state)
        sink = (dev.perfusion if factor is None else factor * dev.perfusion) + dev.boundary
        mass = real(1.0 / params.dt) / dev.inv_heat_capacity  # rho c / dt
        theta = real(self.theta)

        def apply(v):
            return mass * v + theta * (sink * v - conduction(v, dev.faces))

        inv_diagonal = 1 / (mass + theta * (sink + self._conduction_diagonal))
        rhs = heat_gain(T, state, dev, heat, params)
        x0 = self._previous_delta if self._previous_delta is not None else dev.backend.xp.zeros_like(T)
        delta, iterations = conjugate_gradient(
            apply, rhs, inv_diagonal, x0, rtol=self.rtol, max_iterations=self.max_iterations
        )
        self.iterations.append(iterations)
        self._previous_delta = delta
        T_new = T + delta
        accumulate_dose(state, T, T_new, dev, params)
        state.temperature = T_new
