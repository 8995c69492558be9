"""Planning a scenario: optimise its ``[plan]`` variables, then confirm with a full simulation.

:func:`plan_scenario` is what ``phototherm plan SCENARIO`` runs:

1. build the scenario (:func:`~phototherm.scenario.build.build_scenario`);
2. record the unit responses of every source at the voxels of the
   structures that the ``[objective]`` and ``[[constraints]]`` name
   (:class:`~phototherm.planning.superposition.UnitResponses`: superposition
   for temperatures, doses and fluence; the PDT kinetics integrated at those
   voxels for [1O2]rx and PDT survival);
3. search the powers, exposure time and fractionation within the ``[plan]``
   bounds (:func:`~phototherm.planning.optimise_plan`), which evaluates every
   candidate exactly and returns only plans meeting every constraint;
4. write the *planned scenario* (the input with each source's power and
   schedule replaced by the plan) and run it in full, with the responses' time
   step, into the results folder, beside ``plan.json`` (the plan, its
   constraints with slack and binding, and predicted against simulated metrics).

When no plan meets the constraints nothing is simulated or written and an
:class:`PlanInfeasible` error names the constraints responsible by key path
(``constraints[0]``), their values at the extreme plans and the limits.

The planned scenario is an ordinary scenario: ``phototherm run`` on the
``scenario.toml`` in the results folder gives the same result again.

Vascular shutdown makes the bioheat equation nonlinear: the plan is then
chosen on the model without it (a warning says so) and the confirmation runs
the scenario as written, with shutdown, so the table shows what the linear
prediction missed.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, Problem, Problems
from ..planning.metrics import QUANTITIES as _QUANTITIES
from .errors import NOT_GIVEN

__all__ = ["PlannedScenario", "PlanInfeasible", "PlanningWarning", "plan_scenario", "scenario_goals",
           "apply_plan", "goal_report", "structure_roles"]

#: Result field name (the scenario's quantity names) -> the planner's short name.
_SHORT_NAMES = {q.field: name for name, q in _QUANTITIES.items()}


class PlanInfeasible(InputError):
    """No plan within the ``[plan]`` bounds meets every constraint (the problems name them)."""


class PlanningWarning(UserWarning):
    """Something a planner should know about how the plan was chosen."""


@dataclass(eq=False)
class PlannedScenario:
    """Outcome of :func:`plan_scenario`.

    Attributes
    ----------
    scenario : Scenario
        The scenario as given.
    planned : Scenario
        The scenario with the chosen plan (each source's power and schedule).
    plan_result : PlanResult
        The optimiser's result (plan, objective, constraints with slack and binding).
    confirmation : Confirmation or None
        Predicted against simulated metrics (None with ``simulate=False``).
    result : Result or None
        The full simulation of the planned scenario.
    folder : Path or None
        The results folder written.
    timings : dict of str to float
        Wall time of each phase [s]: ``build`` (geometry, tissues, light),
        ``responses``, ``search``, ``confirm`` (simulation and writing) and ``total``.
    """

    scenario: Any
    planned: Any
    plan_result: Any
    confirmation: Any = None
    result: Any = None
    folder: Path | None = None
    timings: dict = field(default_factory=dict)

    def summary(self) -> str:
        """The plan, its constraints and (when simulated) predicted against simulated values."""
        text = self.plan_result.summary()
        if self.confirmation is not None:
            text += "\n\npredicted (superposition) against the full simulation:\n" + self.confirmation.table()
        return text

    def describe(self) -> dict:
        return {"plan": self.plan_result.describe(),
                "confirmation": None if self.confirmation is None else self.confirmation.describe(),
                "timings_s": dict(self.timings),
                "units_note": "powers in W, times in s, energies in J; metric units are given with each row"}


# -- goals ---------------------------------------------------------------------------------------
def _level(spec) -> float | None:
    return spec.threshold if spec.metric == "V" else spec.volume_fraction if spec.metric == "D" else None


def scenario_goals(scenario) -> tuple[Any, list[tuple[str, Any]]]:
    """The scenario's objective and constraints as planning objects.

    Returns
    -------
    objective : Objective or None
    constraints : list of (key path, Constraint)
        A constraint with both ``at_least`` and ``at_most`` gives two.
    """
    from ..planning import Constraint, Objective

    objective = None
    spec = scenario.objective
    if spec is not None:
        objective = Objective(spec.structure, _SHORT_NAMES[spec.quantity], spec.metric, _level(spec),
                              "maximise" if spec.goal == "maximize" else "minimise")
    constraints = []
    for i, c in enumerate(scenario.constraints):
        for key, bound in (("at_least", ">="), ("at_most", "<=")):
            limit = getattr(c, key)
            if limit is not None:
                constraints.append((f"constraints[{i}].{key}", Constraint(
                    c.structure, _SHORT_NAMES[c.quantity], c.metric, float(limit), _level(c), bound)))
    return objective, constraints


def goal_report(scenario, structures: dict, result) -> dict:
    """The objective's value and each constraint judged on a result, as plain data.

    Parameters
    ----------
    scenario : Scenario
    structures : dict of str to ndarray of bool
        Structure masks (:attr:`BuiltScenario.structures`).
    result : Result
    """
    import numpy as np

    from ..planning.metrics import QUANTITIES

    objective, constraints = scenario_goals(scenario)

    def values(goal):
        field = QUANTITIES[goal.quantity].field
        if field not in result.fields or goal.structure not in structures:
            return None
        return np.asarray(result.fields[field])[structures[goal.structure]]

    out: dict[str, Any] = {}
    if objective is not None:
        v = values(objective)
        out["objective"] = {**objective.describe(), "value": None if v is None else objective.value(v)}
    out["constraints"] = []
    for path, c in constraints:
        v = values(c)
        judged = c.judge(None if v is None else c.value(v))
        out["constraints"].append({"key": path, **judged.describe()})
    return out


# -- the plan as a scenario ----------------------------------------------------------------------
def _schedule_spec(intervals, horizon: float) -> dict:
    """A scenario schedule for on-intervals ``(start, stop, level)`` [s] (stop may be inf)."""
    ivs = [(a, min(b, horizon), lv) for a, b, lv in intervals if a < horizon and lv > 0]
    if not ivs:
        return {"type": "off"}
    if len(ivs) == 1 and ivs[0][2] == 1.0:
        a, b, _ = ivs[0]
        spec = {"type": "constant", "start_s": float(a)}
        if b < horizon:
            spec["duration_s"] = float(b - a)
        return spec
    times, levels = [], []
    for a, b, lv in ivs:
        times += [float(a), float(a), float(b), float(b)]
        levels += [0.0, float(lv), float(lv), 0.0]
    return {"type": "piecewise_linear", "times_s": times, "levels": levels}


def apply_plan(scenario, plan, dt: float | None = None):
    """The scenario with each planned source's power and schedule set by ``plan``.

    Sources keep everything else (position, profile, wavelength); a beam given
    by irradiance is given by power instead. The ``[plan]`` table is kept, so
    the result can be planned again; ``phototherm run`` ignores it.

    Parameters
    ----------
    scenario : Scenario
    plan : phototherm.planning.Plan
    dt : float, optional
        Time step the plan was evaluated with [s]; written as
        ``numerics.dt_s`` so that running the planned scenario repeats the
        confirming simulation exactly.
    """
    from .schema import Scenario

    data = scenario.to_dict()
    for source in data["sources"]:
        if source["name"] not in plan.source_names:
            continue
        i = plan.source_names.index(source["name"])
        for key in ("irradiance_W_per_cm2", "irradiance_mW_per_cm2"):
            source.pop(key, None)
        source["power_W"] = float(plan.powers[i])
        source["schedule"] = _schedule_spec(plan.on_intervals[i], plan.horizon)
    if dt is not None:
        data["numerics"]["dt_s"] = float(dt)
    note = "Planned by phototherm plan: power and schedule of " + ", ".join(plan.source_names) + "."
    data["description"] = (data.get("description", "") + "\n" + note).strip()
    planned = Scenario.from_dict(data, base_dir=scenario.base_dir)
    planned._source_path = scenario.source_path  # outputs.folder and meshes resolve as before
    return planned


# -- planning ------------------------------------------------------------------------------------
def structure_roles(scenario) -> dict[str, str]:
    """Role of every structure name: the [[structures]] roles, else the geometry's defaults."""
    from .checks import implicit_structures

    roles = dict(implicit_structures(scenario.geometry))
    roles.update({s.name: s.role for s in scenario.structures})
    return roles


def _step(scenario, model) -> tuple[float | None, int]:
    """(dt [s] or None, record_every) of the unit responses."""
    num, plan = scenario.numerics, scenario.plan
    if plan.recording_interval_s is None:
        return num.dt_s, 1
    limit = model.stability_limit().dt
    target = num.dt_s if num.dt_s is not None else (0.95 * limit if num.stepper == "explicit" else 10.0 * limit)
    every = max(1, math.ceil(plan.recording_interval_s / target - 1e-9))
    return plan.recording_interval_s / every, every


def _infeasible(result, constraints) -> PlanInfeasible:
    paths = {id(c): path for path, c in constraints}
    named = set(result.binding)
    problems = [Problem(paths[id(cv.constraint)], cv.value,
                        f"{cv.constraint.bound} {cv.constraint.limit:g} for {cv.constraint.label}: no plan within "
                        "the [plan] bounds meets it (value shown at the extreme plan closest to meeting it); "
                        "relax the limit or widen the bounds")
                for cv in result.constraints if (cv.constraint.label in named or not named) and not cv.satisfied]
    if not problems:
        problems = [Problem("constraints", NOT_GIVEN, result.message)]
    return PlanInfeasible(f"no feasible plan: {result.message}", problems)


def plan_scenario(scenario, *, out=None, device=None, progress=None, figures=None, simulate: bool = True,
                  optimiser_options: dict | None = None) -> PlannedScenario:
    """Optimise a scenario's ``[plan]`` and confirm the plan with one full simulation.

    Parameters
    ----------
    scenario : Scenario
        With ``[plan]`` and ``[objective]`` (and usually ``[[constraints]]``).
    out : path, optional
        Results folder of the confirming simulation; default ``outputs.folder``.
    device : {"auto", "cpu", "gpu"}, optional
        Overrides ``numerics.device``.
    progress : bool or None
        Progress bars (responses, search, simulation).
    figures : bool, optional
        Overrides ``outputs.figures``.
    simulate : bool
        Run the confirming simulation and write the folder (default); False
        only optimises.
    optimiser_options : dict, optional
        Keyword arguments of :func:`~phototherm.planning.optimise_plan`
        (``n_durations``, ``power_rtol``, ``tie_break``, ...).

    Returns
    -------
    PlannedScenario

    Raises
    ------
    InputError
        No ``[plan]`` or ``[objective]``; a results folder that cannot be
        written; problems of the scenario found while building it.
    PlanInfeasible
        No plan meets the constraints: each responsible constraint by key
        path, with its value and limit. Nothing is written.
    """
    from ..io.atomic import check_destination
    from ..io.tables import json_text
    from ..planning import PlanVariables, Structure, compare, optimise_plan
    from ..planning.superposition import UnitResponses, with_sources
    from .build import build_scenario, run_built

    problems = Problems()
    problems.check(scenario.plan is not None, "plan", NOT_GIVEN,
                   "a [plan] table with the variables to optimise ([[plan.sources]] with power_W bounds)")
    problems.check(scenario.objective is not None, "objective", NOT_GIVEN, "an [objective] table to optimise")
    problems.raise_if_any("nothing to plan")
    folder = Path(out) if out is not None else Path(scenario.resolve_path(scenario.outputs.folder))
    if simulate:
        check_destination(folder, overwrite=scenario.outputs.overwrite, key="outputs.folder")

    clock = _Clock()
    built = build_scenario(scenario, device=device, progress=progress)
    clock.mark("build")
    model = built.model
    if model.vascular_shutdown is not None:
        warnings.warn("the plan is chosen on the model without vascular shutdown (superposition needs a linear "
                      "model); the confirming simulation includes it, compare predicted and simulated values",
                      PlanningWarning, stacklevel=2)
        model = with_sources(model, model.heat_sources, vascular_shutdown=None)
    objective, constraints = scenario_goals(scenario)
    roles = structure_roles(scenario)
    goals = [("objective.structure", objective)] + [(path.rsplit(".", 1)[0] + ".structure", c)
                                                       for path, c in constraints]
    empty = Problems()
    for path, goal in goals:
        empty.check(bool(built.structures[goal.structure].any()), path, goal.structure,
                    "a structure holding at least one voxel at this grid spacing (a layer thinner than a voxel "
                    "holds none: refine grid.spacing_mm)")
    empty.raise_if_any("cannot plan on empty structures")
    used = list(dict.fromkeys(goal.structure for _, goal in goals))
    structures = [Structure(name, built.structures[name], roles.get(name, "other")) for name in used]
    dt, record_every = _step(scenario, model)
    num = scenario.numerics
    backend_options = built.simulation_options
    responses = UnitResponses.compute(
        model, structures, horizon=num.stop_time_s, dt=dt, stepper=num.stepper, record_every=record_every,
        device=backend_options["device"], dtype=backend_options["dtype"], rtol=num.cg_rtol,
        num_threads=num.num_threads, progress=progress, photodynamic=built.photodynamic)
    clock.mark("responses")

    plan = scenario.plan
    bounds = {item.source: tuple(item.power_W) for item in plan.sources}
    powers = [bounds.get(name, nominal) for name, nominal in zip(responses.source_names, responses.nominal_powers)]
    fractionation: list = [None]
    if plan.fractionation is not None:
        f = plan.fractionation
        fractionation = ([None] if f.include_continuous else []) + [(on, off) for on in f.on_s for off in f.off_s]
    variables = PlanVariables(powers=powers, start=plan.start_s, fractionation=fractionation,
                              duration=None if plan.exposure_time_s is None else tuple(plan.exposure_time_s))
    result = optimise_plan(responses, objective, [c for _, c in constraints], variables, progress=progress,
                           **(optimiser_options or {}))
    clock.mark("search")
    if not result.feasible:
        raise _infeasible(result, constraints)

    planned = apply_plan(scenario, result.plan, dt=responses.dt)
    outcome = PlannedScenario(scenario, planned, result, timings=clock.times)
    if not simulate:
        clock.mark("total", since_start=True)
        return outcome
    planned_built = built.with_plan(result.plan, planned)
    planned_built.simulation_options.update(dt=responses.dt, stepper=responses.stepper)

    def plan_json(res) -> str:  # written into the results folder, before it is moved into place
        outcome.confirmation = compare(result, res)
        return json_text(dict(outcome.describe(), planned_scenario="scenario.toml"))

    sim_result = run_built(planned_built, folder, progress=progress, figures=figures,
                           extra_files={"plan.json": plan_json})
    clock.mark("confirm")
    clock.mark("total", since_start=True)
    outcome.result, outcome.folder = sim_result, folder
    return outcome


class _Clock:
    """Wall time of consecutive phases [s]."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.times: dict[str, float] = {}

    def mark(self, phase: str, since_start: bool = False) -> None:
        now = time.perf_counter()
        self.times[phase] = now - (self.start if since_start else self.last)
        self.last = now
