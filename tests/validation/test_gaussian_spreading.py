"""An initial Gaussian temperature bump spreading and decaying in a perfused medium.

Infinite homogeneous medium, no source (PHYSICS.md section 1):

    theta(r, t) = theta0 (s^2 / (s^2 + 2 alpha t))^(3/2)
                  exp(-r^2 / (2 (s^2 + 2 alpha t))) exp(-P t).

The grid spans 16 s on each side with faces held at T_a; at the end time the
bump's width is sqrt(2) s, so the true solution at the faces is
exp(-64 / 4) ~ 1e-7 of theta0: the truncation is invisible next to the O(h^2)
error measured here.
"""

import numpy as np

import phototherm as pt
from tests.helpers import homogeneous_model

K, RHO, C = 0.5, 1050.0, 3700.0
ALPHA = K / (RHO * C)
W_B = 3e-3
P = W_B * pt.Blood().volumetric_heat_capacity / (RHO * C)
T_A, THETA0, S = 37.0, 10.0, 1e-3


def exact(r2, t):
    width2 = S**2 + 2 * ALPHA * t
    return T_A + THETA0 * (S**2 / width2) ** 1.5 * np.exp(-r2 / (2 * width2)) * np.exp(-P * t)


def run(n):
    L = 16 * S
    grid = pt.Grid((n, n, n), L / n, origin=(-L / 2,) * 3)
    X, Y, Z = grid.mesh()
    r2 = X**2 + Y**2 + Z**2
    model = homogeneous_model(
        grid.shape, grid.spacing, origin=grid.origin, conductivity=K, density=RHO, specific_heat=C,
        perfusion=W_B, boundaries=pt.BoundaryConditions(default=pt.FixedTemperature(T_A)),
        initial_temperature=exact(r2, 0.0),
    )
    t_end = S**2 / (2 * ALPHA)  # width grows by sqrt(2)
    result = pt.Simulation(model, stop_time=t_end, dt=0.25 * model.critical_dt(), device="cpu",
                           progress=False).run()
    return np.abs(result.temperature - exact(r2, t_end)).max()


def test_gaussian_bump_converges_at_second_order():
    errors = [run(n) for n in (24, 48, 96)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 1.8) & (orders < 2.2)), (errors, orders)
    # the peak has fallen from 10 K to ~3 K; the finest grid is within 0.5 % of theta0
    assert errors[-1] < 5e-3 * THETA0, errors
