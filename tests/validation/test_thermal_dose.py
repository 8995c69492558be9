"""Thermal dose accumulated by the solver against closed forms (PHYSICS.md section 2).

Two exactly solvable histories are produced by the solver itself:

* **constant temperature**: an insulated, unperfused, unheated block keeps its
  initial temperature exactly (conduction between equal values is 0);
* **linear ramp**: the same block under a uniform source Q heats at exactly
  ``Q / (rho c)`` per second, and forward Euler is exact for a linear solution.

The dose integrals are then compared with closed forms computed here
independently of :mod:`phototherm.dose` (antiderivatives of R^(43 - T) and of
the time above a threshold; adaptive quadrature for Arrhenius on the ramp).
"""

import math

import numpy as np
import pytest
from scipy.integrate import quad

import phototherm as pt
from phototherm.dose import arrhenius_constant, cem43_constant, surviving_fraction, time_to_cem43
from phototherm.units import GAS_CONSTANT, KELVIN_OFFSET

RHO, C = 1000.0, 4000.0
SKIN = pt.tissues.HENRIQUES_MORITZ_SKIN


def block(T0, Q=0.0):
    grid = pt.Grid((4, 3, 2), 1e-3)
    tissue = pt.ThermalTissue("block", RHO, C, 0.5, 0.0, 0.0, arrhenius=SKIN)
    sources = [pt.HeatSource(np.full(grid.shape, Q))] if Q else []
    return pt.PennesModel(grid, pt.ThermalProperties.uniform(grid, tissue), heat_sources=sources,
                          initial_temperature=T0)


def cem43_ramp_exact(Ta, Tb, duration):
    """Integral of R^(43 - T) dt [min] for T rising linearly from Ta to Tb (closed form)."""
    rate = (Tb - Ta) / duration

    def antiderivative(T):  # d/dT of -R^(43-T)/ln R is R^(43-T)
        R = 0.5 if T >= 43 else 0.25
        return -(R ** (43 - T)) / math.log(R)

    pieces = [(Ta, min(Tb, 43.0), 0.25), (max(Ta, 43.0), Tb, 0.5)]
    total = 0.0
    for lo, hi, R in pieces:
        if hi > lo:
            total += (-(R ** (43 - hi)) / math.log(R)) - (-(R ** (43 - lo)) / math.log(R))
    return total / rate / 60.0


def test_cem43_and_arrhenius_at_constant_temperature():
    sim = pt.Simulation(block(45.0), stop_time=3600.0, device="cpu", progress=False)
    result = sim.run()
    assert np.all(result.temperature == 45.0)
    # one hour at 45 C is 240 CEM43 exactly (R = 0.5: 2^2 x 60 min); summing
    # ~2300 equal increments rounds by at most a few thousand ulps
    assert result.cem43 == pytest.approx(np.full(result.cem43.shape, 240.0), rel=1e-12)
    omega = SKIN.frequency_factor * math.exp(-SKIN.activation_energy / (GAS_CONSTANT * (45.0 + KELVIN_OFFSET))) * 3600
    assert result.omega == pytest.approx(np.full(result.omega.shape, omega), rel=1e-12)
    assert np.all(result.time_above == 3600.0)


@pytest.mark.parametrize("stepper, dt", [("explicit", 1.5), ("backward-euler", 20.0)])
def test_dose_over_a_linear_ramp_through_43C(stepper, dt):
    T0, T1, duration = 40.0, 56.0, 600.0
    Q = (T1 - T0) / duration * RHO * C
    sim = pt.Simulation(block(T0, Q), stop_time=duration, dt=dt, stepper=stepper, device="cpu",
                        progress=False, time_above_threshold=50.0)
    result = sim.run()
    assert result.temperature == pytest.approx(np.full(result.temperature.shape, T1), rel=1e-12)
    # CEM43: exact per step for a linear history, so exact overall up to rounding
    assert result.cem43 == pytest.approx(np.full(result.cem43.shape, cem43_ramp_exact(T0, T1, duration)), rel=1e-11)
    # time above 50 C: (56 - 50) / (16 / 600) = 225 s
    assert result.time_above == pytest.approx(np.full(result.time_above.shape, 225.0), rel=1e-11)
    # Arrhenius: the per-step log-linear rate underestimates Omega by about
    # (Ea / (R T)) (dT / T)^2 / 6 (see phototherm.dose), largest at the coldest T
    dT = (T1 - T0) / duration * sim.dt
    T_cold = T0 + KELVIN_OFFSET
    bound = SKIN.activation_energy / (GAS_CONSTANT * T_cold) * (dT / T_cold) ** 2 / 6
    rate = lambda t: SKIN.frequency_factor * math.exp(  # noqa: E731
        -SKIN.activation_energy / (GAS_CONSTANT * (T0 + (T1 - T0) * t / duration + KELVIN_OFFSET)))
    omega = quad(rate, 0, duration, epsrel=1e-13, limit=200)[0]
    error = (omega - result.omega) / omega
    assert np.all((error > 0) & (error < bound)), (error.max(), bound)
    assert error.max() > bound / 10  # the estimate is tight, not merely an upper bound
    assert result.max_temperature == pytest.approx(np.full(result.max_temperature.shape, T1), rel=1e-12)


def test_published_times_to_240_cem43():
    # PHYSICS.md: 4 h at 43 C, 1 h at 45 C, 112 s at 50 C, 3.5 s at 55 C (rounded figures)
    assert time_to_cem43(43.0) == pytest.approx(4 * 3600.0, rel=1e-15)
    assert time_to_cem43(45.0) == pytest.approx(3600.0, rel=1e-15)
    assert time_to_cem43(50.0) == pytest.approx(112.0, abs=0.5)
    assert time_to_cem43(55.0) == pytest.approx(3.5, abs=0.05)
    assert cem43_constant(42.0, 60.0) == pytest.approx(0.25)


def test_arrhenius_damage_levels():
    # Omega = 1 is 63 % damage, Omega = 4.6 is 99 % (PHYSICS.md)
    assert 1 - surviving_fraction(np.array(1.0)) == pytest.approx(0.632, abs=5e-4)
    assert 1 - surviving_fraction(np.array(4.6)) == pytest.approx(0.99, abs=5e-4)
    # Henriques-Moritz skin: the classic ~1 s to a first burn at ~70 C vs hours at 45 C
    assert arrhenius_constant(70.0, 1.0, SKIN.frequency_factor, SKIN.activation_energy) == pytest.approx(
        SKIN.frequency_factor * math.exp(-SKIN.activation_energy / (GAS_CONSTANT * 343.15)))
