"""Steady 1-D bioheat with an exponentially decaying source (PHYSICS.md section 1).

Semi-infinite perfused medium, source ``q0 exp(-mu x)``, theta = T - T_a:

    theta(x) = C exp(-m x) + A exp(-mu x),  m = sqrt(w_b rho_b c_b / k),
    A = q0 / (k (m^2 - mu^2)),

with C set by the surface x = 0: fixed temperature ``theta(0) = theta_s`` gives
``C = theta_s - A``; insulated gives ``C = -mu A / m``; convective
(``k theta'(0) = h (theta(0) - theta_amb)``) gives
``C = -(h (A - theta_amb) + k mu A) / (k m + h)``.

The domain is 20/m deep with the far face held at T_a, so truncation changes
the solution by ~exp(-20) = 2e-9 of its scale, far below the discretisation
error. The cell-centred scheme (half-cell conductance at the face, film
coefficient in series for the convective face) converges at second order; the
fixed-temperature face adds an O(h^3) term that keeps the observed order at
1.81, 1.91, 1.96, 1.98 for n = 100 ... 1600, hence n = 200, 400, 800 here.
"""

import numpy as np
import pytest

import phototherm as pt
from phototherm.bioheat import steady_state_temperature

K = 0.5  # W/(m K)
W_B = 1.5e-3  # 1/s
M = np.sqrt(W_B * pt.Blood().volumetric_heat_capacity / K)  # ~106 1/m
MU = 250.0  # 1/m (4 mm penetration)
Q0 = 2e5  # W/m^3
T_A = 37.0
A = Q0 / (K * (M**2 - MU**2))
THETA_S, THETA_AMB, H = 3.0, 25.0 - T_A, 20.0

SURFACES = {
    "fixed temperature": (pt.FixedTemperature(T_A + THETA_S), THETA_S - A),
    "insulated": (pt.Insulated(), -MU * A / M),
    "convective": (pt.Convective(H, T_A + THETA_AMB), -(H * (A - THETA_AMB) + K * MU * A) / (K * M + H)),
}


def solve(surface, n):
    depth = 20.0 / M
    grid = pt.Grid((n, 1, 1), (depth / n, 1e-3, 1e-3))
    tissue = pt.ThermalTissue("medium", 1000.0, 4000.0, K, W_B)
    x = grid.centres("x")
    source = pt.HeatSource(np.broadcast_to(Q0 * np.exp(-MU * x)[:, None, None], grid.shape).copy())
    model = pt.PennesModel(
        grid, pt.ThermalProperties.uniform(grid, tissue), heat_sources=[source], arterial_temperature=T_A,
        boundaries=pt.BoundaryConditions(x_min=surface, x_max=pt.FixedTemperature(T_A)),
    )
    return x, steady_state_temperature(model, source_level=1.0, rtol=1e-13)[:, 0, 0]


@pytest.mark.parametrize("name", list(SURFACES))
def test_steady_state_converges_at_second_order(name):
    surface, C = SURFACES[name]
    errors = []
    for n in (200, 400, 800):
        x, T = solve(surface, n)
        exact = T_A + C * np.exp(-M * x) + A * np.exp(-MU * x)
        errors.append(np.abs(T - exact).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 1.9) & (orders < 2.1)), (errors, orders)
    # O(h^2) with h = 1/(20 M) / 4: below 0.1 % of the 10-K scale of theta
    assert errors[-1] < 1e-3 * np.abs(A), errors


def test_transient_run_reaches_the_steady_state():
    """The time stepper and the steady solver share one operator: a long run lands on it."""
    surface, _ = SURFACES["convective"]
    x, steady = solve(surface, 60)
    depth = 20.0 / M
    grid = pt.Grid((60, 1, 1), (depth / 60, 1e-3, 1e-3))
    tissue = pt.ThermalTissue("medium", 1000.0, 4000.0, K, W_B)
    source = pt.HeatSource(np.broadcast_to(Q0 * np.exp(-MU * x)[:, None, None], grid.shape).copy())
    model = pt.PennesModel(
        grid, pt.ThermalProperties.uniform(grid, tissue), heat_sources=[source], arterial_temperature=T_A,
        boundaries=pt.BoundaryConditions(x_min=surface, x_max=pt.FixedTemperature(T_A)),
    )
    # slowest decay rate ~ perfusion rate P = 1.5e-3 * 3.8e6 / 4e6 ~ 1.4e-3 /s: 30 time constants
    result = pt.Simulation(model, stop_time=2e4, stepper="backward-euler", dt=50.0, device="cpu",
                           progress=False).run()
    assert np.abs(result.temperature[:, 0, 0] - steady).max() < 1e-6
