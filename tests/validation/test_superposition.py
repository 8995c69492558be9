"""Superposed unit step responses against direct full simulations.

On a small heterogeneous model (skin, fat, muscle, tumour; convective and fixed
faces; perfusion; a non-uniform start that evolves on its own) with two heat
sources on different schedules, the temperature history predicted from the
baseline and the two unit step responses, for other powers and shifted,
shortened or fractionated exposures, must equal a direct simulation of that
plan at every step: to rounding with the explicit stepper, to the
conjugate-gradient tolerance with backward Euler. CEM43, Omega and T_max
integrated from the superposed history equal the simulation's when every step
is recorded.
"""

import dataclasses

import numpy as np
import pytest

import phototherm as pt
from phototherm.planning import Structure
from phototherm.planning.superposition import UnitResponses
from phototherm.schedule import Segment
from phototherm.simulation import Callback, IterationInterval

EPS = np.finfo(np.float64).eps
HORIZON = 60.0


def heterogeneous_model(schedules):
    grid = pt.Grid((14, 13, 12), 1e-3)
    X, Y, Z = grid.mesh()
    labels = np.full(grid.shape, 2, np.int32)
    labels[Z < 2e-3] = 1
    labels[Z < 1e-3] = 0
    tumour = (X - 7e-3) ** 2 + (Y - 6.5e-3) ** 2 + (Z - 5.5e-3) ** 2 <= (2.5e-3) ** 2
    labels[tumour] = 3
    tissues = {0: pt.tissues.thermal_tissue("skin"), 1: pt.tissues.thermal_tissue("fat"),
               2: pt.tissues.thermal_tissue("muscle"), 3: pt.tissues.thermal_tissue("tumour")}
    a = pt.gaussian_heat_source(grid, (7e-3, 6.5e-3, 5.5e-3), 1.5e-3, total_power=0.3, name="deep")
    b = pt.gaussian_heat_source(grid, (5e-3, 8e-3, 2e-3), 2e-3, total_power=0.2, name="shallow")
    sources = [pt.HeatSource(s.power_density, sched, s.name) for s, sched in zip((a, b), schedules)]
    start = 36.0 + 2.0 * np.sin(X / 3e-3) * np.cos(Z / 4e-3)  # not steady: the baseline evolves
    model = pt.PennesModel(
        grid, pt.ThermalProperties(grid, labels, tissues), heat_sources=sources, initial_temperature=start,
        boundaries=pt.BoundaryConditions(z_min=pt.Convective(10.0, 25.0), z_max=pt.FixedTemperature(37.0),
                                         x_min=pt.Convective(5.0, 30.0)))
    structures = [Structure("tumour", tumour), Structure("skin", labels == 0, "organ_at_risk"),
                  Structure("fat", labels == 1, "organ_at_risk")]
    return model, structures


NOMINAL = [pt.PowerSchedule.constant(stop=30.0), pt.PowerSchedule.pulses(on=10.0, off=10.0, count=2, start=10.0)]
# other powers [W] and on-intervals (start, stop) [s]: the deep source shifted and shortened, the
# shallow one in three fractions, the last running to the end
POWERS = [0.7, 0.11]
INTERVALS = [[(20.0, 35.0)], [(0.0, 5.0), (15.0, 25.0), (50.0, HORIZON)]]


def direct(model, responses, powers=None, intervals=None, rtol=None):
    """Full simulation of a plan, with T recorded at the responses' voxels every step."""
    if powers is not None:
        sources = []
        for s, p, nominal, ivs in zip(model.heat_sources, powers, responses.nominal_powers, intervals):
            changes = dict(power_density=s.power_density * (p / nominal),
                           schedule=pt.PowerSchedule([Segment(a, b, 1.0, 1.0) for a, b in ivs]))
            if getattr(s, "fluence_rate", None) is not None:
                changes["fluence_rate"] = s.fluence_rate * (p / nominal)
            sources.append(dataclasses.replace(s, **changes))
        model = pt.PennesModel(model.grid, model.properties, boundaries=model.boundaries, heat_sources=sources,
                               initial_temperature=model.initial_temperature())
    sim = pt.Simulation(model, stop_time=responses.horizon, dt=responses.dt, stepper=responses.stepper,
                        device="cpu", rtol=rtol, progress=False)
    history = [sim.state.temperature.reshape(-1)[responses.voxels].copy()]
    previous = [sim.state.temperature.copy()]
    direct.largest_step_change = 0.0  # over the whole grid [K]

    def record(s):
        history.append(s.state.temperature.reshape(-1)[responses.voxels].copy())
        change = float(np.abs(s.state.temperature - previous[0]).max())
        direct.largest_step_change = max(direct.largest_step_change, change)
        previous[0] = s.state.temperature.copy()

    sim.callbacks["history"] = Callback(record, IterationInterval(1))
    result = sim.run()
    return np.array(history), result


def weight(powers, intervals, responses):
    """Sum of |coefficients| of the response terms added to the baseline (for the rounding bound)."""
    return sum(abs(p / nominal) * 2 * len(ivs)
               for p, nominal, ivs in zip(powers, responses.nominal_powers, intervals))


@pytest.fixture(scope="module")
def explicit():
    model, structures = heterogeneous_model(NOMINAL)
    return UnitResponses.compute(model, structures, horizon=HORIZON, device="cpu")


def test_explicit_superposition_equals_direct_simulation_to_rounding(explicit):
    r = explicit
    # the default step is a round number (here 1 s: 0.95 of the 1.08 s limit), exactly representable,
    # so every step of every run has the same length and the time-invariance is exact
    assert r.dt == 1.0 and r.steps == 60 and r.n_samples == 61
    for powers, intervals in ((None, None), (POWERS, INTERVALS)):
        T_direct, result = direct(r.model, r, powers, intervals)
        times, T = r.temperature_history(powers, intervals)
        assert T.shape == T_direct.shape and np.array_equal(times, np.arange(61.0))
        # Bound: each explicit step rounds each voxel to a few ulp of |T|; the step matrix is
        # non-negative with row sums <= 1 (the stability limit), so rounding errors add up at most
        # linearly over the N steps. The superposed history combines the baseline run and
        # 2 x (number of intervals) shifted responses (each a difference of two runs) weighted by
        # |power scale|; the direct run adds one more.
        terms = 2 + 2 * (weight(powers, intervals, r) if powers else 2 * 1 + 2 * 2)
        bound = terms * r.steps * 4 * EPS * np.abs(T_direct).max()
        error = np.abs(T - T_direct).max()
        assert error <= bound, (error, bound)
        assert np.abs(T - T.mean()).max() > 1.0  # the test is not vacuous: temperatures change by kelvins
        # doses from the superposed history: same piecewise-linear rule as the simulation's, every step
        dose = r.evaluate(powers, intervals)
        flat = {k: v.reshape(-1)[r.voxels] for k, v in result.fields.items()}
        assert np.abs(dose.values["T_max"] - flat["max_temperature_degC"]).max() <= bound
        # CEM43 changes by ln(2) x relative per kelvin: relative error <= ln 2 x the temperature bound,
        # plus summation rounding over the steps
        cem = flat["cem43_min"]
        assert np.all(np.abs(dose.values["CEM43"] - cem) <= (np.log(4) * bound + r.steps * 4 * EPS) * cem)
        assert cem.max() > 1.0
        modelled = np.isfinite(flat["arrhenius_omega"])
        assert modelled.sum() > 0 and np.array_equal(np.isfinite(dose.values["Omega"]), modelled)
        omega = flat["arrhenius_omega"][modelled]
        # dOmega/Omega = Ea/(R T_K^2) dT <= 0.3 /K for the skin pair
        assert np.all(np.abs(dose.values["Omega"][modelled] - omega) <= (0.3 * bound + r.steps * 4 * EPS) * omega)


def test_sampled_history_is_exact_at_the_samples_and_doses_approach_the_simulation():
    model, structures = heterogeneous_model(NOMINAL)
    every = UnitResponses.compute(model, structures, horizon=HORIZON, device="cpu")
    sparse = UnitResponses.compute(model, structures, horizon=HORIZON, record_every=5, record_dtype="float32",
                                   device="cpu")
    assert sparse.dt == every.dt and sparse.interval == 5.0 and sparse.n_samples == 13
    intervals = [[(20.0, 35.0)], [(0.0, 5.0), (15.0, 25.0), (50.0, HORIZON)]]
    _, T_every = every.temperature_history(POWERS, intervals)
    _, T_sparse = sparse.temperature_history(POWERS, intervals)
    # float32 storage of responses of up to ~20 K: 2^-24 relative, times the power scales
    assert np.abs(T_sparse - T_every[::5]).max() <= 1e-5 * 20.0 * (1 + weight(POWERS, intervals, every))
    # sampled T_max is a lower bound; CEM43 from 5-s chords is close (the history is smooth at 5 s)
    exact, sampled = every.evaluate(POWERS, intervals), sparse.evaluate(POWERS, intervals)
    assert np.all(sampled.values["T_max"] <= exact.values["T_max"] + 1e-4)
    hot = exact.values["CEM43"] > 0.1
    assert hot.any()
    assert np.allclose(sampled.values["CEM43"][hot], exact.values["CEM43"][hot], rtol=0.05)


def test_backward_euler_superposition_equals_direct_simulation_to_the_cg_tolerance():
    model, structures = heterogeneous_model(NOMINAL)
    errors = {}
    for rtol in (1e-7, 1e-11):
        r = UnitResponses.compute(model, structures, horizon=HORIZON, dt=5.0, stepper="backward-euler",
                                  rtol=rtol, device="cpu")
        assert r.dt == 5.0 and r.steps == 12
        T_direct, result = direct(model, r, POWERS, INTERVALS, rtol=rtol)
        _, T = r.temperature_history(POWERS, INTERVALS)
        errors[rtol] = np.abs(T - T_direct).max()
        # Bound: each step solves A delta = b for its increment to ||b - A delta||_2 <= rtol ||b||_2, so
        # the increment errs by ||e||_2 <= cond(A) rtol ||delta||_2 <= cond(A) rtol sqrt(n) max|delta|
        # (n voxels). Gershgorin with A = rho c / dt + (conduction + sinks):
        # cond(A) <= (max rho c / min rho c) (1 + 2 dt / dt_explicit). The step matrix is a contraction
        # in the rho-c-weighted norm, so errors add over the N steps, up to sqrt(max rho c / min rho c)
        # between norms, for each run combined (weights as in the explicit test). Loose (about 1e5
        # here): the ratio of the errors at two tolerances below is the sharp check.
        heat = model.properties.volumetric_heat_capacity
        ratio = heat.max() / heat.min()
        cond = ratio * (1 + 2 * r.dt / model.critical_dt())
        terms = 2 + 2 * weight(POWERS, INTERVALS, r)
        bound = (terms * r.steps * np.sqrt(ratio) * cond * rtol * np.sqrt(model.grid.size)
                 * direct.largest_step_change)
        assert errors[rtol] <= bound + terms * r.steps * 4 * EPS * 60.0, (rtol, errors[rtol], bound)
        if rtol == 1e-11:
            dose = r.evaluate(POWERS, INTERVALS)
            cem = result.fields["cem43_min"].reshape(-1)[r.voxels]
            assert np.allclose(dose.values["CEM43"], cem, rtol=1e-8, atol=0.0)
    # the error is the CG tolerance's, not a modelling error: it shrinks in proportion to rtol
    assert 1e-5 < errors[1e-11] / errors[1e-7] < 1e-3


def test_laser_sources_power_is_emitted_power_and_fluence_is_exact():
    from phototherm.examples.demo import DemoSettings, build_demo
    from phototherm.planning import structures_from_labels

    case = build_demo(DemoSettings(spacing=2e-3, heating_time=20.0), device="cpu")
    model = case.model
    labels = model.properties.labels
    names = {label: t.name for label, t in model.properties.tissues.items()}
    structures = structures_from_labels(labels, names)
    r = UnitResponses.compute(model, structures, horizon=40.0, device="cpu")
    assert r.nominal_powers == (1.5,)  # the beam's emitted power, not the absorbed one
    plan = ([0.9], [[(10.0, 30.0)]])
    dose = r.evaluate(*plan)
    T_direct, result = direct(model, r, *plan)
    fluence = result.fields["fluence_J_per_m2"].reshape(-1)[r.voxels]
    np.testing.assert_allclose(dose.values["fluence"], fluence, rtol=1e-12)
    assert np.abs(r.temperature_history(*plan)[1] - T_direct).max() < 1e-10
