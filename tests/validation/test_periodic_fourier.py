"""Periodic homogeneous medium: the explicit scheme against Fourier solutions.

References (PHYSICS.md section 1):

* discrete-exact: n FTCS steps of the 7-point scheme equal
  ``IFFT[(1 - dt (alpha lam(k) + P))^n FFT(T0 - Ta)] + Ta`` with
  ``lam(k) = sum_d (4 / h_d^2) sin^2(k_d h_d / 2)``; agreement to rounding;
* continuous (k-Wave ``bioheatExact`` form): ``|k|^2`` in place of ``lam(k)``
  and ``exp(-(alpha |k|^2 + P) t)``; the scheme converges to it at second
  order in space when dt is kept proportional to h^2.
"""

import numpy as np
import pytest

import phototherm as pt
from tests.helpers import homogeneous_model, periodic

K, RHO, C = 0.52, 1050.0, 3600.0
ALPHA = K / (RHO * C)
BLOOD_RHO_C = pt.Blood().volumetric_heat_capacity
W_B = 2e-3  # perfusion [1/s]
P = W_B * BLOOD_RHO_C / (RHO * C)  # perfusion decay rate [1/s]
T_A = 37.0


def _wavenumbers(shape, spacing):
    return np.meshgrid(*(2 * np.pi * np.fft.fftfreq(n, d=h) for n, h in zip(shape, spacing)), indexing="ij")


def discrete_exact(T0, spacing, dt, n):
    k = _wavenumbers(T0.shape, spacing)
    lam = sum(4.0 / h**2 * np.sin(kd * h / 2) ** 2 for kd, h in zip(k, spacing))
    growth = (1.0 - dt * (ALPHA * lam + P)) ** n
    return np.real(np.fft.ifftn(np.fft.fftn(T0 - T_A) * growth)) + T_A


@pytest.mark.parametrize("dtype, ulps", [("float64", 1), ("float32", 1)])
def test_n_explicit_steps_equal_discrete_exact_fourier_solution(dtype, ulps):
    shape, spacing = (12, 10, 8), (0.4e-3, 0.5e-3, 0.3e-3)
    rng = np.random.default_rng(1)
    T0 = T_A + 8.0 * rng.standard_normal(shape)  # every Fourier mode present, the checkerboard included
    model = homogeneous_model(shape, spacing, conductivity=K, density=RHO, specific_heat=C, perfusion=W_B,
                              boundaries=periodic(), initial_temperature=T0)
    n = 60
    dt = 0.9 * model.critical_dt()
    sim = pt.Simulation(model, stop_time=n * dt, dt=dt, device="cpu", dtype=dtype, progress=False)
    result = sim.run()
    assert sim.iteration == n
    expected = discrete_exact(T0, spacing, sim.dt, n)
    # Each step rounds every value to within an ulp or so of |T|; the scheme's
    # amplification factors are <= 1, so rounding accumulates at most linearly: a
    # bound of 1 ulp of max|T| per step (measured: 0.008 ulp per step in float64,
    # 0.007 in float32). A wrong stencil or perfusion term misses by O(1 K).
    eps = np.finfo(dtype).eps
    tolerance = ulps * n * eps * np.abs(T0).max()
    error = np.abs(result.temperature - expected).max()
    assert error < tolerance, (error, tolerance)
    # the field did change by much more than the tolerance (the test can fail)
    assert np.abs(expected - T0).max() > 100 * tolerance


def test_explicit_scheme_converges_to_continuous_solution_at_second_order():
    lengths = (8e-3, 6e-3, 4e-3)
    modes = (1, 1, 1)
    k = [2 * np.pi * m / L for m, L in zip(modes, lengths)]
    decay = ALPHA * sum(kd**2 for kd in k) + P
    t_end = 1.0 / decay
    errors, spacings = [], []
    for n in (12, 24, 48):
        shape = (n, n, n)
        spacing = tuple(L / n for L in lengths)
        grid = pt.Grid(shape, spacing)
        X, Y, Z = grid.mesh()
        theta0 = 3.0 * np.cos(k[0] * X + 0.3) * np.cos(k[1] * Y) * np.sin(k[2] * Z + 1.0)
        model = homogeneous_model(shape, spacing, conductivity=K, density=RHO, specific_heat=C, perfusion=W_B,
                                  boundaries=periodic(), initial_temperature=T_A + theta0)
        # dt proportional to h^2, so the O(dt) time error is also O(h^2); at a
        # fifth of the limit it is ~20 % of the space error (opposite sign), so
        # the two cannot cancel and the observed order is that of the space error
        dt = 0.2 * model.critical_dt()
        result = pt.Simulation(model, stop_time=t_end, dt=dt, device="cpu", progress=False).run()
        exact = T_A + theta0 * np.exp(-decay * t_end)
        errors.append(np.abs(result.temperature - exact).max())
        spacings.append(min(spacing))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 1.85) & (orders < 2.15)), (errors, orders)
    # and the error is small in absolute terms at the finest grid (amplitude 3 K x e^-1)
    assert errors[-1] < 0.01
