"""The explicit step limit: its formula, its refusal, and that it is sharp.

Positivity (monotonicity) of forward Euler requires, per voxel,
``dt <= 1 / [(sum of face conductances + perfusion + boundary) / (rho c)]``;
on a homogeneous cubic grid ``h^2 / (6 alpha + P h^2)`` (PHYSICS.md). Without
perfusion it coincides with the von Neumann limit of the checkerboard mode
(``2 / (12 alpha / h^2)``), so a step just above it makes that mode grow.
"""

import numpy as np
import pytest

import phototherm as pt
from tests.helpers import homogeneous_model, periodic, step_model


def test_homogeneous_limit_matches_the_closed_form():
    K, RHO, C, W = 0.5, 1050.0, 3700.0, 2e-3
    alpha = K / (RHO * C)
    P = W * pt.Blood().volumetric_heat_capacity / (RHO * C)
    for h in (1e-3, 0.5e-3, 0.1e-3):
        model = homogeneous_model((6, 6, 6), h, conductivity=K, density=RHO, specific_heat=C, perfusion=W,
                                  boundaries=periodic())
        assert model.critical_dt() == pytest.approx(h**2 / (6 * alpha + P * h**2), rel=1e-14)
    # PHYSICS.md quotes 0.32 s at 0.5 mm for soft tissue (alpha 1.3e-7 m^2/s, negligible perfusion)
    soft = homogeneous_model((6, 6, 6), 0.5e-3, conductivity=1.3e-7 * 4e6, density=1000.0, specific_heat=4000.0,
                             boundaries=periodic())
    assert soft.critical_dt() == pytest.approx(0.32, abs=0.005)


@pytest.mark.parametrize("face", ["fixed", "convective"])
def test_boundary_faces_tighten_the_limit_of_their_voxels(face):
    K, RHO, C, h = 0.5, 1000.0, 4000.0, 1e-3
    if face == "fixed":
        bc = pt.BoundaryConditions(x_min=pt.FixedTemperature(37.0))
        extra = 2 * K / h**2  # conduction over half a voxel to the face
    else:
        hc = 1e4  # a strong film coefficient, so the face sets the limit
        bc = pt.BoundaryConditions(x_min=pt.Convective(hc, 20.0))
        extra = 1.0 / (1.0 / hc + h / (2 * K)) / h
    model = homogeneous_model((5, 5, 5), h, conductivity=K, density=RHO, specific_heat=C, boundaries=bc)
    limit = model.stability_limit()
    # the limiting voxels lie in the x_min layer, away from the insulated edges: five
    # interior faces plus the boundary face
    assert limit.dt == pytest.approx(RHO * C / (5 * K / h**2 + extra), rel=1e-13)
    assert limit.index[0] == 0 and 0 < limit.index[1] < 4 and 0 < limit.index[2] < 4
    # and it is tighter than the interior limit (six faces, no boundary)
    assert limit.dt < RHO * C / (6 * K / h**2)


def test_a_step_above_the_limit_is_refused_with_a_clear_error():
    model = homogeneous_model((5, 5, 5), 0.5e-3, boundaries=periodic())
    limit = model.critical_dt()
    with pytest.raises(pt.StabilityError) as err:
        pt.Simulation(model, stop_time=10.0, dt=1.01 * limit, device="cpu")
    (problem,) = err.value.problems
    assert problem.path == "dt" and problem.value == pytest.approx(1.01 * limit)
    assert f"{limit:.6g}" in str(err.value) and "backward-euler" in str(err.value)
    # at the limit itself the step is accepted
    pt.Simulation(model, stop_time=10.0 * limit, dt=limit, device="cpu", progress=False)


def checkerboard_run(factor, steps=40):
    shape, h = (8, 8, 8), 0.5e-3
    i, j, k = np.indices(shape)
    T0 = 37.0 + np.where((i + j + k) % 2 == 0, 1.0, -1.0)
    model = homogeneous_model(shape, h, boundaries=periodic(), initial_temperature=T0)
    # stepping directly bypasses Simulation's refusal of a step above the limit, on purpose
    state = step_model(model, steps, dt_factor=factor)
    return np.abs(state.temperature - 37.0).max()


def test_the_limit_is_sharp():
    # at the limit the checkerboard's amplification factor is exactly -1: bounded, no growth
    assert checkerboard_run(1.0) <= 1.0 + 1e-12
    # 5 % above it the factor is -1.1: the mode grows by 1.1^40 ~ 45
    assert checkerboard_run(1.05) > 5.0
