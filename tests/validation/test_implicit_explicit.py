"""Implicit and explicit steppers agree, and converge at their theoretical orders in time.

Reference: the explicit stepper at 2 % and 1 % of its step limit, combined by
Richardson extrapolation (2 E(dt/2) - E(dt)) to second order, so its error
(< 1e-6 K) is far below the implicit errors measured (> 2e-5 K). Backward Euler must converge at first order in
dt, Crank-Nicolson at second order, on a heterogeneous model with every
boundary type, a smoothly ramped source, metabolic heat and a smooth initial
field (no vascular shutdown, whose on/off switch would limit the order; no
voxel-scale noise, whose stiff modes Crank-Nicolson resolves only for small dt).
"""

import numpy as np
import pytest

import phototherm as pt
from tests.helpers import random_heterogeneous_model

STOP = 20.0


def model():
    m = random_heterogeneous_model((8, 7, 6), (0.6e-3, 0.5e-3, 0.7e-3), sources=0, seed=3)
    ramp = pt.HeatSource(2e6 * np.random.default_rng(4).random(m.grid.shape), pt.PowerSchedule.ramp(0.0, STOP, 0.0, 1.0))
    X, Y, Z = m.grid.mesh()
    smooth = 37.0 + 4.0 * np.sin(X / 2e-3) * np.cos(Y / 3e-3) + 2.0 * Z / 4e-3
    return pt.PennesModel(m.grid, m.properties, boundaries=m.boundaries, heat_sources=[ramp],
                          initial_temperature=smooth)


def run(stepper, dt):
    m = model()
    return pt.Simulation(m, stop_time=STOP, dt=dt, stepper=stepper, device="cpu", progress=False, rtol=1e-13).run()


@pytest.fixture(scope="module")
def reference():
    m = model()
    limit = m.critical_dt()
    coarse, fine = (
        pt.Simulation(m, stop_time=STOP, dt=f * limit, device="cpu", progress=False, num_threads=1).run().temperature
        for f in (0.02, 0.01)
    )
    return 2 * fine - coarse


@pytest.mark.parametrize("stepper, order", [("backward-euler", 1.0), ("crank-nicolson", 2.0)])
def test_implicit_steppers_converge_at_their_order(reference, stepper, order):
    errors = []
    for dt in (1.0, 0.5, 0.25):
        result = run(stepper, dt)
        errors.append(np.abs(result.temperature - reference).max())
    observed = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(observed - order) < 0.05), (errors, observed)


def test_implicit_and_explicit_agree():
    """Their difference is the explicit O(dt) error: it halves with the step.

    Temperatures differ by 3e-3 K at 0.4 of the explicit limit, CEM43 by 2.6 %
    (in weakly dosed voxels of the early boundary layers); both halve with dt.
    """
    m = model()
    limit = m.critical_dt()
    temperature, dose = [], []
    for fraction in (0.4, 0.2, 0.1):
        explicit = pt.Simulation(m, stop_time=STOP, dt=fraction * limit, device="cpu", progress=False).run()
        implicit = run("crank-nicolson", fraction * limit)
        temperature.append(np.abs(explicit.temperature - implicit.temperature).max())
        dosed = implicit.cem43 > 1e-3
        dose.append(np.abs(explicit.cem43[dosed] / implicit.cem43[dosed] - 1).max())
    for differences in (temperature, dose):
        observed = np.log2(np.array(differences[:-1]) / np.array(differences[1:]))
        assert np.all(np.abs(observed - 1.0) < 0.05), (differences, observed)
    assert temperature[-1] < 1e-3  # K, against a 4.6 K temperature rise
    assert dose[-1] < 1e-2
