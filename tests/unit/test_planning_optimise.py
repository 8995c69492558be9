"""Plan objectives, constraints and the photothermal optimiser, checked by hand and by full simulations."""

import json
import math

import numpy as np
import pytest

import phototherm as pt
from phototherm.errors import InputError
from phototherm.planning import Structure, margin
from phototherm.planning.objectives import Constraint, Objective, metric_value, validate_goals
from phototherm.planning.optimise import Fractionation, PlanVariables, confirm, optimise_plan
from phototherm.planning.superposition import UnitResponses


def paths(info):
    return [p.path for p in info.value.problems]


# -- a tiny phantom: skin over muscle, a tumour 5 mm deep, Gaussian heat sources -----------
def phantom(powers=(0.1,), centres=((6e-3, 6e-3, 5e-3),), schedules=None, shutdown=None):
    grid = pt.Grid((12, 12, 10), 1e-3)
    X, Y, Z = grid.mesh()
    labels = np.full(grid.shape, 1, np.int32)
    labels[Z < 1e-3] = 0
    tumour = (X - 6e-3) ** 2 + (Y - 6e-3) ** 2 + (Z - 5e-3) ** 2 <= (2.2e-3) ** 2
    labels[tumour] = 2
    tissues = {0: pt.tissues.thermal_tissue("skin"), 1: pt.tissues.thermal_tissue("muscle"),
               2: pt.tissues.thermal_tissue("tumour")}
    schedules = schedules or [pt.PowerSchedule.constant()] * len(powers)
    sources = [pt.gaussian_heat_source(grid, c, 1.8e-3, total_power=p, schedule=s, name=f"source {i}")
               for i, (p, c, s) in enumerate(zip(powers, centres, schedules))]
    model = pt.PennesModel(
        grid, pt.ThermalProperties(grid, labels, tissues), heat_sources=sources,
        boundaries=pt.BoundaryConditions(z_min=pt.Convective(10.0, 25.0), z_max=pt.FixedTemperature(37.0)),
        vascular_shutdown=shutdown)
    t = Structure("tumour", tumour)
    structures = [t, Structure("skin", labels == 0, "organ_at_risk"),
                  margin(t, 1.5e-3, grid, within=labels == 1, name="healthy", role="organ_at_risk")]
    return model, structures


@pytest.fixture(scope="module")
def one_source():
    model, structures = phantom()
    return UnitResponses.compute(model, structures, horizon=120.0, device="cpu")


def full_run(model, responses, power, stop):
    """Full simulation of ``model``'s single source at ``power`` [W], on over [0, stop) [s]."""
    [source] = model.heat_sources
    scaled = pt.HeatSource(source.power_density * (power / source.total_power(model.grid)),
                           pt.PowerSchedule.constant(stop=stop), source.name)
    run_model = pt.PennesModel(model.grid, model.properties, boundaries=model.boundaries, heat_sources=[scaled])
    return pt.Simulation(run_model, stop_time=responses.horizon, dt=responses.dt, device="cpu", progress=False).run()


def structure_max(result, responses, name, field):
    return float(np.nanmax(result.fields[field][responses.structure(name).mask]))


# -- objectives and constraints by value ------------------------------------------------------
def test_metrics_of_goals_by_hand():
    cem = np.array([10.0, 240.0, 300.0, np.nan, 500.0])  # NaN: not modelled, left out
    assert Objective("t", "CEM43", "V", 240.0).value(cem) == 0.75
    assert Objective("t", "CEM43", "D", 0.5).value(cem) == 300.0  # 2nd largest of 4 (ceil(0.5 * 4) = 2)
    assert Objective("t", "CEM43", "max").value(cem) == 500.0
    assert Objective("t", "CEM43", "min").value(cem) == 10.0
    assert Objective("t", "CEM43", "mean").value(cem) == pytest.approx(262.5)
    # surviving fractions: lower is more effect, V counts values <= level
    assert metric_value([0.5, 0.01, 0.001], "thermal_survival", "V", 0.01) == pytest.approx(2 / 3)
    assert metric_value([np.nan, np.nan], "Omega", "max") is None


def test_constraint_slack_and_words():
    skin = Constraint("skin", "T_max", "max", 45.0)
    ok = skin.evaluate([41.0, 44.5])
    assert (ok.value, ok.limit, ok.slack, ok.satisfied) == (44.5, 45.0, 0.5, True)
    bad = skin.evaluate([46.1])
    assert bad.slack == pytest.approx(-1.1) and not bad.satisfied
    assert str(bad) == "skin T_max max = 46.1 C > 45 C (violated by 1.1)"
    cover = Constraint("tumour", "CEM43", "V", 0.95, level=240.0, bound=">=")
    c = cover.evaluate([300.0, 250.0, 100.0, 240.0])
    assert c.value == 0.75 and c.slack == pytest.approx(-0.2) and not c.satisfied
    assert cover.label == "tumour V(CEM43 >= 240 min)"
    none = skin.evaluate([np.nan])  # nothing evaluated: counted as violated, never as met
    assert none.value is None and none.slack is None and not none.satisfied


def test_tie_value_ranks_equal_coverages():
    cover = Objective("tumour", "CEM43", "V", 240.0)
    assert cover.tie_value([100.0, 300.0]) == pytest.approx((100.0 + 240.0) / 2)  # clipped at the level
    assert cover.tie_value([500.0, 300.0]) == 240.0  # all reached: no more to gain, ties stay ties
    assert Objective("h", "CEM43", "V", 10.0, sense="minimise").tie_value([5.0, 30.0]) == pytest.approx(20.0)
    assert Objective("t", "CEM43", "max").tie_value([1.0]) is None


def test_goal_validation_lists_every_problem_with_key_paths():
    with pytest.raises(InputError) as info:
        validate_goals(
            Objective("tumor", "CEM43", "V", None, sense="best"),
            [Constraint("skin", "T_max", "max", math.nan, level=3.0),
             Constraint("tumour", "1O2rx", "D", 1.0, level=1.5, bound="<"),
             "skin < 45"],
            structures=("tumour", "skin"), quantities=("T_max", "CEM43", "Omega"))
    assert paths(info) == [
        "objective.structure", "objective.level", "objective.sense",
        "constraints[0].level", "constraints[0].limit",
        "constraints[1].quantity", "constraints[1].level", "constraints[1].bound",
        "constraints[2]",
    ]
    assert "photodynamic ones need the therapy" in str(info.value)


def test_variable_validation_lists_every_problem_with_key_paths(one_source):
    objective = Objective("tumour", "CEM43", "V", 240.0)
    with pytest.raises(InputError) as info:
        optimise_plan(one_source, objective, [], PlanVariables(powers=[(2.0, 1.0)], duration=(-5.0, 60.0),
                                                               start=0.3, fractionation=[(7.3, 2.0)]),
                      tie_break="random", power_rtol=2.0)
    assert paths(info) == ["power_rtol", "tie_break", "variables.powers[0]", "variables.start",
                           "variables.duration"]
    with pytest.raises(InputError) as info:
        optimise_plan(one_source, objective, [], PlanVariables(powers={"laser": 1.0}, duration=60.0,
                                                               fractionation=[(7.5, 2.0), None]))
    assert paths(info) == ["variables.powers['laser']", "variables.powers['source 0']",
                           "variables.fractionation[0]"]


def test_responses_refuse_a_nonlinear_model_and_report_memory():
    model, structures = phantom(shutdown=pt.VascularShutdown("cem43", 240.0))
    with pytest.raises(InputError) as info:
        UnitResponses.compute(model, structures, horizon=10.0, device="cpu")
    assert paths(info) == ["model.vascular_shutdown"]
    model, structures = phantom()
    with pytest.raises(InputError) as info:
        UnitResponses.compute(model, structures, horizon=100.0, memory_limit=1e4, record_dtype="float32",
                              device="cpu")
    assert paths(info) == ["memory_limit"]
    assert "(N + 1) (K + 1) V b" in str(info.value)
    with pytest.raises(InputError) as info:
        UnitResponses.compute(model, structures[0].mask, horizon=0.0, record_every=0, device="cpu")
    assert paths(info) == ["structures", "horizon", "record_every"]


def test_intervals_must_lie_on_the_recording_grid(one_source):
    tau = one_source.interval
    with pytest.raises(InputError) as info:
        one_source.temperature_history([0.1, 0.2], [[(0.5 * tau, 10 * tau)]])
    assert paths(info) == ["powers", "on_intervals[0][0].start"]
    # a stop at or beyond the horizon means "on to the end"
    times, T = one_source.temperature_history([0.2], [[(0.0, 1e9)]])
    times2, T2 = one_source.temperature_history([0.2], [[(0.0, one_source.horizon)]])
    assert np.array_equal(T, T2) and T.shape == (one_source.n_samples, one_source.voxels.size)


# -- the optimiser -------------------------------------------------------------------------------
def test_one_source_power_matches_bisection_over_full_simulations(one_source):
    """Largest power keeping skin T_max <= 39 C for a 60 s exposure, found two ways."""
    model = one_source.model
    limit, exposure, top = 39.0, 60.0, 1.0
    result = optimise_plan(one_source, Objective("tumour", "CEM43", "D", 0.9),
                           [Constraint("skin", "T_max", "max", limit)],
                           PlanVariables(powers=[(0.0, top)], duration=exposure), power_rtol=1e-3)
    assert result.feasible and result.binding == ("skin T_max max",)
    [power] = result.plan.powers
    # independent answer: bisection on full simulations (no superposition), same dt
    good, bad = 0.0, top
    for _ in range(12):  # bracket 1 W / 2^12 = 0.24 mW
        mid = 0.5 * (good + bad)
        run = full_run(model, one_source, mid, exposure)
        if structure_max(run, one_source, "skin", "max_temperature_degC") <= limit:
            good = mid
        else:
            bad = mid
    # the optimiser stops within power_rtol x range (1 mW) below the true boundary, never above it
    assert good - 1e-3 - 1e-9 <= power <= bad
    assert result.plan.on_intervals == (((0.0, exposure, 1.0),),)
    check = confirm(result)
    assert check.feasible_in_simulation
    # same dt, every step recorded: the prediction equals the full simulation to rounding
    assert check.max_difference["T_max"] < 1e-10 and check.max_difference["CEM43"] < 1e-9
    assert check.rows[0]["what"] == "objective" and abs(check.rows[0]["difference"]) < 1e-9
    assert "constraints hold" in check.table()
    # plain-data reports
    text = json.dumps(result.describe(), allow_nan=False)
    assert '"binding": ["skin T_max max"]' in text
    assert "skin T_max max" in result.summary() and "source 0" in result.summary()
    assert result.metrics()["skin"]["T_max"]["max"] == pytest.approx(result.constraints[0].value)


def test_longest_exposure_at_fixed_power(one_source):
    """At a fixed power the best exposure is the longest one keeping healthy CEM43 <= 1 min."""
    model = one_source.model
    power = 0.3
    result = optimise_plan(one_source, Objective("tumour", "CEM43", "mean"),
                           [Constraint("healthy", "CEM43", "max", 1.0)],
                           PlanVariables(powers=[power], duration=(10.0, 110.0)), n_durations=5)
    assert result.feasible and result.binding == ("healthy CEM43 max",)
    duration = result.plan.duration
    assert 10.0 < duration < 110.0
    # full simulations: this exposure meets the limit, one recording interval more does not
    at = full_run(model, one_source, power, duration)
    longer = full_run(model, one_source, power, duration + one_source.interval)
    assert structure_max(at, one_source, "healthy", "cem43_min") <= 1.0
    assert structure_max(longer, one_source, "healthy", "cem43_min") > 1.0


def test_infeasible_plan_names_the_constraint_that_fails_at_the_bounds(one_source):
    result = optimise_plan(one_source, Objective("tumour", "CEM43", "V", 240.0),
                           [Constraint("skin", "T_max", "max", 38.0), Constraint("healthy", "CEM43", "max", 100.0)],
                           PlanVariables(powers=[(0.5, 1.0)], duration=(30.0, 60.0)))
    assert not result.feasible and result.plan is None
    assert result.message.startswith("cannot be met: skin T_max max = ")
    assert "> 38 C" in result.message and "even at the lowest powers (0.5 W) and shortest exposure (30 s)" \
        in result.message
    assert "healthy" not in result.message
    assert result.binding == ("skin T_max max",)
    with pytest.raises(InputError) as info:
        confirm(result)
    assert paths(info) == ["plan_result.plan"]


def test_conflicting_constraints_are_named_together(one_source):
    result = optimise_plan(one_source, Objective("tumour", "CEM43", "mean"),
                           [Constraint("skin", "T_max", "max", 39.0),
                            Constraint("tumour", "T_max", "min", 55.0, bound=">=")],
                           PlanVariables(powers=[(0.0, 3.0)], duration=60.0))
    assert not result.feasible
    assert "skin T_max max" in result.message and "tumour T_max min" in result.message
    assert "exclude each other" in result.message


def test_least_energy_plan_when_coverage_saturates(one_source):
    """Full coverage is reached below the skin limit: the weakest plan reaching it is chosen."""
    objective = Objective("tumour", "T_max", "V", 40.0)
    result = optimise_plan(one_source, objective, [Constraint("skin", "T_max", "max", 60.0)],
                           PlanVariables(powers=[(0.0, 2.0)], duration=60.0), power_rtol=1e-4)
    assert result.feasible and result.objective_value == 1.0 and result.binding == ()
    [p] = result.plan.powers
    below = one_source.evaluate([p - 2.0 * 2e-4], [[(0.0, 60.0)]])
    assert objective.value(below.structure_values("tumour", "T_max")) < 1.0
    pushed = optimise_plan(one_source, objective, [Constraint("skin", "T_max", "max", 60.0)],
                           PlanVariables(powers=[(0.0, 2.0)], duration=60.0), tie_break="most_energy")
    # pushed to the constraint instead
    assert pushed.plan.powers[0] > 2 * p and pushed.binding == ("skin T_max max",)


def test_two_sources_no_worse_than_a_brute_force_grid():
    model, structures = phantom(powers=(0.1, 0.1), centres=((6e-3, 6e-3, 5e-3), (4e-3, 7e-3, 7e-3)))
    responses = UnitResponses.compute(model, structures, horizon=80.0, device="cpu")
    objective = Objective("tumour", "CEM43", "D", 0.9)
    constraints = [Constraint("skin", "T_max", "max", 40.0), Constraint("healthy", "CEM43", "max", 5.0)]
    result = optimise_plan(responses, objective, constraints,
                           PlanVariables(powers=[(0.0, 0.6), (0.0, 0.6)], duration=40.0), n_directions=4)
    assert result.feasible and result.binding
    best_grid = -math.inf
    for p0 in np.linspace(0.0, 0.6, 13):
        for p1 in np.linspace(0.0, 0.6, 13):
            dose = responses.evaluate([p0, p1], [[(0.0, 40.0)], [(0.0, 40.0)]], quantities=["T_max", "CEM43"])
            if all(c.evaluate(dose.structure_values(c.structure, c.quantity)).satisfied for c in constraints):
                best_grid = max(best_grid, objective.value(dose.structure_values("tumour", "CEM43")))
    assert result.objective_value >= best_grid * (1 - 1e-9)
    # the returned plan is feasible when re-evaluated
    dose = responses.evaluate(result.plan.powers, [[iv[:2] for iv in ivs] for ivs in result.plan.on_intervals])
    assert all(c.evaluate(dose.structure_values(c.structure, c.quantity)).satisfied for c in constraints)


def test_fractionation_candidates_and_plan_schedules(one_source):
    """Continuous 40 s heats the skin to 41.0 C, four 10 s fractions 30 s apart to 39.8 C (this phantom)."""
    skin = [Constraint("skin", "T_max", "max", 40.5)]
    variables = PlanVariables(powers=[0.4], duration=40.0, start=5.0, fractionation=[None, Fractionation(10.0, 20.0)])
    result = optimise_plan(one_source, Objective("tumour", "CEM43", "mean"), skin, variables)
    assert result.feasible and result.plan.duration == 40.0
    assert result.plan.fractionation == Fractionation(10.0, 20.0)
    assert result.plan.on_intervals == (((5.0, 15.0, 1.0), (35.0, 45.0, 1.0), (65.0, 75.0, 1.0), (95.0, 105.0, 1.0)),)
    assert result.plan.on_time(0) == 40.0 and result.plan.energy == pytest.approx(0.4 * 40.0)
    schedule = result.plan.schedules()[0]
    assert schedule.integral(0.0, one_source.horizon) == pytest.approx(40.0)
    # without the skin limit, continuous heating gives the higher tumour dose
    free = optimise_plan(one_source, Objective("tumour", "CEM43", "mean"), [], variables)
    assert free.plan.fractionation is None and free.plan.on_intervals == (((5.0, 45.0, 1.0),),)
    # a fraction scheme that cannot fit the exposure before the horizon is refused
    with pytest.raises(InputError) as info:
        optimise_plan(one_source, Objective("tumour", "CEM43", "mean"), skin,
                      PlanVariables(powers=[0.4], duration=60.0, fractionation=[Fractionation(10.0, 20.0)]))
    assert paths(info) == ["variables.fractionation[0]"]


def test_own_schedules_when_no_exposure_variable_and_confirm_on_a_nonlinear_model():
    """Powers only, sources keep their pulses; the plan is then run with vascular shutdown."""
    pulses = pt.PowerSchedule.pulses(on=10.0, off=10.0, count=3)
    model, structures = phantom(schedules=[pulses])
    responses = UnitResponses.compute(model, structures, horizon=80.0, device="cpu")
    result = optimise_plan(responses, Objective("tumour", "CEM43", "max"),
                           [Constraint("healthy", "T_max", "max", 44.0)], PlanVariables(powers=[(0.0, 2.0)]))
    assert result.feasible and result.plan.duration is None
    assert result.plan.on_intervals == (((0.0, 10.0, 1.0), (20.0, 30.0, 1.0), (40.0, 50.0, 1.0)),)
    nonlinear, _ = phantom(schedules=[pulses], shutdown=pt.VascularShutdown("cem43", 0.5, 0.0))
    check = confirm(result, nonlinear)
    # shutdown removes perfusion cooling: the simulated tumour gets hotter than predicted
    row = next(r for r in check.rows if r["label"] == "tumour T_max max")
    assert row["difference"] > 0.0
    assert check.result.fields["perfusion_per_s"].min() == 0.0
    # a builder gets the plan and returns the model to run as it is
    built = confirm(result, lambda plan: plan.apply(nonlinear))
    assert np.array_equal(built.result.fields["cem43_min"], check.result.fields["cem43_min"])
    with pytest.raises(InputError) as info:
        confirm(result, lambda plan: "not a model")
    assert paths(info) == ["model"]
