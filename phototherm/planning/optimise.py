"""The photothermal plan optimiser: powers, exposure time and fractionation.

Given the unit responses of a linear model
(:class:`~phototherm.planning.superposition.UnitResponses`), an
:class:`~phototherm.planning.objectives.Objective` and
:class:`~phototherm.planning.objectives.Constraint` s, :func:`optimise_plan`
chooses

* the power of each source [W], within bounds (or fixed),
* the exposure time [s] (total on-time, on the recording grid ``tau``), or the
  sources' own schedules when no exposure variable is given,
* optionally a fractionation scheme (on/off durations) among candidates,

and :func:`confirm` checks the chosen plan with one full simulation,
reporting predicted and simulated metrics side by side.

Method
------
Each plan is evaluated exactly (to rounding) by superposition, so only
feasible plans are ever returned. The search is deterministic and
derivative-free, built on one property of heating with non-negative sources:
every temperature, dose and fluence grows with every source's power and with
the exposure time, so each metric (V, D_x, max, mean, min) of a "higher is
more" quantity does too. Hence, along a *ray* in power space
``p(s) = p_lo + s (p_hi - p_lo) u`` (``u`` a direction of power ratios,
``0 <= s <= 1``), every constraint holds on an interval of ``s``: an upper
limit (skin T_max <= 45 C) up to some ``s_hi``, a lower limit (tumour
coverage >= 95 %) from some ``s_lo``. Both ends are found by bisection to
``power_rtol`` (relative to the power range), and the objective, monotone along
the ray as well, is best at one of the two ends. With one free source this
*is* the optimum for the exposure time considered; with several sources a
grid of directions on the simplex of power ratios (``n_directions``
divisions) is searched, then refined by pattern search. Exposure times are
searched on a coarse grid (``n_durations`` values), then refined by pattern
search down to one recording interval; every fractionation candidate is
searched the same way.

Coverage objectives are step functions (they change only when a voxel crosses
the threshold), so many plans share the best value. ``tie_break`` chooses
among them: ``"least_energy"`` (default) the plan delivering the least energy
(power x on-time), i.e. the weakest plan reaching the best objective (a
bisection finds the lowest power on the ray that still reaches it);
``"most_energy"`` the plan pushed to the constraints.

The search finds the global optimum for one source at each exposure time and,
when the objective is unimodal in exposure time, overall; with several
sources it is a local search from the best grid point. Non-monotone cases
(a source with negative values, ringing Crank-Nicolson steps far above the
explicit limit) are caught: every returned plan is re-evaluated and feasible.

A constraint *binds* when it holds at the plan but would be violated by
raising every free power by ``binding_rtol`` (1 % by default; lowering, for a
``">="`` constraint); with no free power, by one more (fewer) recording
interval of exposure. Powers and exposure at their bounds are reported too.

When no plan meets the constraints, the result says so and names the
constraint(s) responsible: e.g. ``"cannot be met: skin T_max max = 46.1 C >
45 C even at the lowest powers and shortest exposure"``, or the pair of
constraints that cannot hold together.

Examples
--------
A sketch (see ``tests/unit/test_planning_optimise.py`` for runnable cases)::

    responses = UnitResponses.compute(model, structures, horizon=420.0)
    result = optimise_plan(
        responses,
        Objective("tumour", "CEM43", "V", level=240.0),
        [Constraint("skin", "T_max", "max", 45.0), Constraint("healthy", "CEM43", "max", 10.0)],
        PlanVariables(powers=[(0.0, 3.0)], duration=(60.0, 300.0)),
    )
    print(result.summary())
    check = confirm(result)          # one full simulation
    print(check.table())
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import InputError, Problem, Problems
from ..progress import ProgressBar
from ..schedule import PowerSchedule, Segment
from .metrics import QUANTITIES
from .objectives import Constraint, Objective, metric_value, validate_goals
from .superposition import SuperposedDose, UnitResponses

__all__ = [
    "Fractionation",
    "PlanVariables",
    "Plan",
    "PlanResult",
    "Confirmation",
    "TIE_BREAKS",
    "optimise_plan",
    "confirm",
    "compare",
]

#: Ways to choose among plans with the same objective value.
TIE_BREAKS = ("least_energy", "most_energy")
_GRID_RTOL = 1e-6


@dataclass(frozen=True)
class Fractionation:
    """On/off fractionation: the sources are on for ``on`` seconds, then off for ``off``, repeatedly.

    The last fraction is shortened so that the total on-time equals the
    exposure time. Both durations must be multiples of the recording interval.

    Parameters
    ----------
    on : float
        Length of each fraction [s].
    off : float
        Pause between fractions [s].
    """

    on: float
    off: float

    def describe(self) -> dict:
        return {"on_s": self.on, "off_s": self.off}


@dataclass(frozen=True)
class PlanVariables:
    """What the optimiser may change.

    Parameters
    ----------
    powers : sequence or mapping
        For each source (in the model's order, or by source name), a fixed
        power or ``(low, high)`` bounds [W]. A laser source's power is the
        power its light source emits; any other heat source's is the power it
        deposits (see :func:`~phototherm.planning.superposition.nominal_power`).
    duration : float or (float, float), optional
        Exposure time, the total on-time of every source [s], fixed or
        ``(shortest, longest)``; rounded to the recording grid (inwards).
        ``None``: keep each source's own schedule and optimise powers only.
    start : float
        When the exposure starts [s] (a multiple of the recording interval).
    fractionation : sequence of (Fractionation or (on, off) or None)
        Candidate schemes, each tried; ``None`` is continuous exposure.
    """

    powers: Sequence[Any] | Mapping[str, Any]
    duration: float | tuple[float, float] | None = None
    start: float = 0.0
    fractionation: Sequence[Fractionation | tuple[float, float] | None] = (None,)


@dataclass(frozen=True)
class Plan:
    """A treatment plan: the power and on-intervals of every source.

    Attributes
    ----------
    source_names : tuple of str
    powers : tuple of float
        Power of each source [W].
    nominal_powers : tuple of float
        Power of each source in the model the responses were computed for [W].
    on_intervals : tuple of tuple of (float, float, float)
        ``(start [s], stop [s], level)`` of each source; ``stop`` may be ``inf``.
    horizon : float
        End of the simulated time, exposure plus cooling [s].
    duration : float or None
        Exposure (total on-time) [s]; ``None`` when the sources keep their own schedules.
    start : float
        Start of the exposure [s].
    fractionation : Fractionation or None
    """

    source_names: tuple
    powers: tuple
    nominal_powers: tuple
    on_intervals: tuple
    horizon: float
    duration: float | None = None
    start: float = 0.0
    fractionation: Fractionation | None = None

    @property
    def scales(self) -> tuple[float, ...]:
        """Power over nominal power of each source."""
        return tuple(p / n for p, n in zip(self.powers, self.nominal_powers))

    def on_time(self, source: int) -> float:
        """Time source ``source`` is on within the horizon, weighted by level [s]."""
        return sum(level * (min(stop, self.horizon) - start) for start, stop, level in self.on_intervals[source]
                   if start < self.horizon)

    @property
    def energy(self) -> float:
        """Energy the sources deliver within the horizon [J] (emitted, for laser sources)."""
        return float(sum(p * self.on_time(i) for i, p in enumerate(self.powers)))

    def schedules(self) -> list[PowerSchedule]:
        """Each source's schedule (levels as in :attr:`on_intervals`)."""
        return [PowerSchedule([Segment(a, b, level, level) for a, b, level in ivs]) for ivs in self.on_intervals]

    def apply(self, model):
        """The model with each heat source at this plan's power and schedule.

        Each source's map (and fluence rate, for laser sources) is multiplied
        by its scale; its schedule is replaced. The sources are matched by order.

        Raises
        ------
        InputError
            The model does not have one heat source per planned source.
        """
        from .superposition import with_sources

        problems = Problems()
        problems.check(len(model.heat_sources) == len(self.powers), "model.heat_sources",
                       [s.name for s in model.heat_sources],
                       f"{len(self.powers)} heat sources, one per planned source ({', '.join(self.source_names)})")
        problems.raise_if_any("cannot apply the plan")
        sources = []
        for source, scale, schedule, power in zip(model.heat_sources, self.scales, self.schedules(), self.powers):
            changes: dict[str, Any] = {"power_density": scale * np.asarray(source.power_density), "schedule": schedule}
            if getattr(source, "fluence_rate", None) is not None:
                changes["fluence_rate"] = scale * np.asarray(source.fluence_rate)
            light = getattr(source, "light", None)
            if isinstance(light, Mapping) and isinstance(light.get("source"), Mapping) and "power_W" in light["source"]:
                changes["light"] = {**light, "source": {**light["source"], "power_W": float(power)}}
            sources.append(dataclasses.replace(source, **changes))
        return with_sources(model, sources)

    def apply_therapy(self, therapy):
        """The photodynamic therapy with each light field's source at this plan's power and schedule.

        Light fields are matched to planned sources by source name; fields of
        sources not in the plan are kept as they are.
        """
        if therapy is None:
            return None
        schedules = self.schedules()
        lights = []
        for light in therapy.light:
            name = light.source.name
            if name in self.source_names:
                i = self.source_names.index(name)
                light = dataclasses.replace(light, source=dataclasses.replace(
                    light.source, power=float(self.powers[i]), schedule=schedules[i]))
            lights.append(light)
        return dataclasses.replace(therapy, light=tuple(lights))

    def describe(self) -> dict:
        return {
            "sources": [
                {"name": n, "power_W": p, "scale": s, "on_intervals_s": [[a, None if math.isinf(b) else b, lv]
                                                                          for a, b, lv in ivs],
                 "on_time_s": self.on_time(i)}
                for i, (n, p, s, ivs) in enumerate(zip(self.source_names, self.powers, self.scales, self.on_intervals))
            ],
            "duration_s": self.duration,
            "start_s": self.start,
            "fractionation": None if self.fractionation is None else self.fractionation.describe(),
            "horizon_s": self.horizon,
            "energy_J": self.energy,
        }


@dataclass(frozen=True, eq=False)
class PlanResult:
    """Outcome of :func:`optimise_plan`.

    Attributes
    ----------
    feasible : bool
        Whether a plan meeting every constraint was found.
    message : str
        What limits the plan, or why no plan meets the constraints (naming them).
    plan : Plan or None
        The chosen plan (None when infeasible).
    objective : Objective
    objective_value : float or None
        Predicted objective of the plan.
    constraints : tuple of ConstraintValue
        Every constraint's value, limit, slack and whether it binds (at the
        plan; when infeasible, at the extreme plan that comes closest).
    binding : tuple of str
        Labels of the binding constraints.
    at_bounds : tuple of str
        Variables at their bounds, in words.
    evaluations : int
        Plans evaluated by superposition.
    predicted : SuperposedDose or None
        Predicted dose of the plan (every available quantity).
    responses : UnitResponses
    settings : dict
        Search settings.
    extremes : dict
        When infeasible: the constraint values at the lowest and highest plans.
    """

    feasible: bool
    message: str
    plan: Plan | None
    objective: Objective
    objective_value: float | None
    constraints: tuple
    binding: tuple
    at_bounds: tuple
    evaluations: int
    predicted: SuperposedDose | None
    responses: UnitResponses = field(repr=False)
    settings: dict = field(default_factory=dict)
    extremes: dict = field(default_factory=dict)

    def metrics(self, **options) -> dict:
        """Per-structure metrics of the predicted dose (:func:`phototherm.planning.evaluate`)."""
        if self.predicted is None:
            return {}
        return self.predicted.metrics(**options)

    def summary(self) -> str:
        """A few lines for people."""
        lines = [("plan found: " if self.feasible else "no feasible plan: ") + self.message]
        if self.plan is not None:
            for d in self.plan.describe()["sources"]:
                ivs = ", ".join(f"{a:g}-{'end' if b is None else f'{b:g}'} s" for a, b, _ in d["on_intervals_s"])
                lines.append(f"  {d['name']}: {d['power_W']:.6g} W, on {ivs} ({d['on_time_s']:g} s)")
            lines.append(f"  objective {self.objective.label} = {_fmt(self.objective_value)}")
        for cv in self.constraints:
            lines.append(f"  constraint {cv}")
        lines.append(f"  {self.evaluations} plans evaluated by superposition")
        return "\n".join(lines)

    def describe(self) -> dict:
        return {
            "feasible": self.feasible,
            "message": self.message,
            "plan": None if self.plan is None else self.plan.describe(),
            "objective": {**self.objective.describe(), "value": self.objective_value},
            "constraints": [cv.describe() for cv in self.constraints],
            "binding": list(self.binding),
            "at_bounds": list(self.at_bounds),
            "evaluations": self.evaluations,
            "settings": dict(self.settings),
            "responses": self.responses.describe(),
        }


# -- the search ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Eval:
    powers: tuple
    objective: float | None
    secondary: float | None  # Objective.tie_value
    constraints: tuple
    feasible: bool


@dataclass(frozen=True)
class _Candidate:
    scheme: int
    steps: int | None  # exposure in recording intervals (None: own schedules)
    direction: tuple | None
    powers: tuple
    evaluation: _Eval
    energy: float


class _Search:
    def __init__(self, responses: UnitResponses, objective: Objective, constraints, variables: PlanVariables,
                 bounds, schemes, durations, options):
        self.full = responses
        goals = [objective, *constraints]
        # evaluate only the voxels the goals look at, and each quantity only where it is asked for
        self.r = responses = responses.subset([g.structure for g in goals])
        self.columns = {}
        for g in goals:
            cols = responses.columns(g.structure)
            known = self.columns.get(g.quantity)
            self.columns[g.quantity] = cols if known is None else np.union1d(known, cols)
        self.objective = objective
        self.constraints = tuple(constraints)
        self.bounds = bounds  # [(lo, hi)] per source
        self.free = [i for i, (lo, hi) in enumerate(bounds) if hi > lo]
        self.schemes = schemes  # [(Fractionation or None, (on, off) in intervals or None)]
        self.durations = durations  # per scheme: (Dlo, Dhi) in intervals, or None
        self.start = variables.start
        self.start_index = int(round(variables.start / responses.interval))
        self.o = options
        self.wanted = tuple(dict.fromkeys([objective.quantity] + [c.quantity for c in self.constraints]))
        self.count = 0
        self._cache: dict = {}
        self._own = responses.resolve(None, None)[1] if durations[0] is None else None

    # intervals of every source for a scheme and an exposure of D recording intervals
    def intervals(self, scheme: int, D: int | None) -> tuple:
        if D is None:
            return self._own
        return tuple(_pulse_intervals(self.start_index, D, self.schemes[scheme][1]) for _ in self.bounds)

    def on_time(self, scheme: int, D: int | None, source: int) -> float:
        tau, K = self.r.interval, self.r.n_samples - 1
        ivs = self.intervals(scheme, D)[source]
        return sum(lv * ((K if off is None else off) - on) * tau for on, off, lv in ivs)

    def evaluate(self, scheme: int, D: int | None, powers: tuple) -> _Eval:
        key = (scheme, D, powers)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        self.count += 1
        scales = tuple(p / n for p, n in zip(powers, self.r.nominal_powers))
        dose = self.r._evaluate(scales, self.intervals(scheme, D), self.wanted, columns=self.columns)
        values = dose.structure_values(self.objective.structure, self.objective.quantity)
        obj, secondary = self.objective.value(values), self.objective.tie_value(values)
        cvs = tuple(c.judge(c.value(dose.structure_values(c.structure, c.quantity))) for c in self.constraints)
        result = _Eval(powers, obj, secondary, cvs, all(cv.satisfied for cv in cvs))
        self._cache[key] = result
        return result

    def powers_at(self, direction: tuple | None, s: float) -> tuple:
        p = [lo for lo, _ in self.bounds]
        if direction is not None:
            top = max(direction)
            for i, u in zip(self.free, direction):
                lo, hi = self.bounds[i]
                p[i] = min(hi, lo + s * (hi - lo) * (u / top))
        return tuple(float(x) for x in p)

    def candidate(self, scheme, D, direction, s) -> _Candidate:
        powers = self.powers_at(direction, s)
        e = self.evaluate(scheme, D, powers)
        energy = sum(p * self.on_time(scheme, D, i) for i, p in enumerate(powers))
        return _Candidate(scheme, D, direction, powers, e, energy)

    def rank(self, a: _Eval, b: _Eval) -> int:
        """+1 if ``a`` has the better objective, -1 if ``b`` has, 0 for a tie (tie values included)."""
        tol = self.o["objective_tolerance"]
        if self.objective.better(a.objective, b.objective, tol):
            return 1
        if self.objective.better(b.objective, a.objective, tol):
            return -1
        sa, sb = a.secondary, b.secondary
        if sa is not None and sb is not None:
            stol = 1e-12 * max(abs(sa), abs(sb))
            if self.objective.better(sa, sb, stol):
                return 1
            if self.objective.better(sb, sa, stol):
                return -1
        return 0

    def better(self, a: _Candidate | None, b: _Candidate | None) -> bool:
        if a is None:
            return False
        if b is None:
            return True
        order = self.rank(a.evaluation, b.evaluation)
        if order:
            return order > 0
        scale = max(abs(a.energy), abs(b.energy), 1e-300)
        if self.o["tie_break"] == "least_energy":
            return a.energy < b.energy - 1e-12 * scale
        return a.energy > b.energy + 1e-12 * scale

    def ray(self, scheme: int, D: int | None, direction: tuple | None) -> _Candidate | None:
        """Best feasible plan along one ray of powers (None if the ray has none)."""
        if not self.free:
            c = self.candidate(scheme, D, None, 0.0)
            return c if c.evaluation.feasible else None
        rtol = self.o["power_rtol"]
        e0 = self.candidate(scheme, D, direction, 0.0).evaluation
        e1 = self.candidate(scheme, D, direction, 1.0).evaluation
        ok0 = [cv.satisfied for cv in e0.constraints]
        ok1 = [cv.satisfied for cv in e1.constraints]
        if any(not a and not b for a, b in zip(ok0, ok1)):
            return None
        upper = [i for i, (a, b) in enumerate(zip(ok0, ok1)) if a and not b]
        lower = [i for i, (a, b) in enumerate(zip(ok0, ok1)) if b and not a]

        def holds(which):
            return lambda s: all(self.candidate(scheme, D, direction, s).evaluation.constraints[i].satisfied
                                 for i in which)

        s_hi = _bisect(holds(upper), 0.0, 1.0, rtol) if upper else 1.0
        s_lo = _bisect(holds(lower), 1.0, 0.0, rtol) if lower else 0.0
        if s_lo > s_hi:
            return None
        high = self.candidate(scheme, D, direction, s_hi)
        low = self.candidate(scheme, D, direction, s_lo)
        ends = [c for c in (low, high) if c.evaluation.feasible]
        if not ends:
            return None
        best = ends[0]
        for c in ends[1:]:
            if self.better(c, best):
                best = c
        if (self.o["tie_break"] == "least_energy" and best is high and low.evaluation.feasible
                and self.rank(high.evaluation, low.evaluation) > 0):
            # the weakest plan on the ray that is as good as the strongest
            def reaches(s):
                return self.rank(self.candidate(scheme, D, direction, s).evaluation, high.evaluation) >= 0

            s_best = _bisect(reaches, s_hi, s_lo, rtol)
            weakest = self.candidate(scheme, D, direction, s_best)
            if weakest.evaluation.feasible and not self.better(best, weakest):
                best = weakest
        return best

    def directions(self) -> list[tuple | None]:
        k = len(self.free)
        if k == 0:
            return [None]
        if k == 1:
            return [(1.0,)]
        r = self.o["n_directions"]
        return [tuple(c / r for c in parts) for parts in _compositions(r, k)]

    def coarse_durations(self, scheme: int) -> list[int | None]:
        bounds = self.durations[scheme]
        if bounds is None:
            return [None]
        lo, hi = bounds
        n = self.o["n_durations"]
        if hi - lo + 1 <= n:
            return list(range(lo, hi + 1))
        return sorted({int(round(x)) for x in np.linspace(lo, hi, n)})

    def run(self, progress) -> _Candidate | None:
        coarse = [(sc, D, u) for sc in range(len(self.schemes)) for D in self.coarse_durations(sc)
                  for u in self.directions()]
        best = None
        with ProgressBar(len(coarse), unit="ray", description="plan search", show=progress) as bar:
            for sc, D, u in coarse:
                c = self.ray(sc, D, u)
                if self.better(c, best):
                    best = c
                bar.update(1)
        if best is None:
            return None
        return self.refine(best)

    def refine(self, best: _Candidate) -> _Candidate:
        for _ in range(self.o["max_rounds"]):
            before = best
            if best.steps is not None:
                lo, hi = self.durations[best.scheme]
                coarse = self.coarse_durations(best.scheme)
                h = max(1, (coarse[1] - coarse[0]) // 2) if len(coarse) > 1 else 0
                while h >= 1:
                    moved = False
                    for D in (best.steps - h, best.steps + h):
                        if lo <= D <= hi:
                            c = self.ray(best.scheme, D, best.direction)
                            if self.better(c, best):
                                best, moved = c, True
                                break
                    if not moved:
                        h //= 2
            k = len(self.free)
            if k >= 2:
                delta = 0.5 / self.o["n_directions"]
                while delta >= self.o["direction_tolerance"]:
                    moved = False
                    for i in range(k):
                        for j in range(k):
                            if i == j or best.direction[j] < delta - 1e-15:
                                continue
                            u = list(best.direction)
                            u[i] += delta
                            u[j] = max(0.0, u[j] - delta)
                            c = self.ray(best.scheme, best.steps, tuple(u))
                            if self.better(c, best):
                                best, moved = c, True
                                break
                        if moved:
                            break
                    if not moved:
                        delta /= 2
            if best is before:
                break
        return best


def _bisect(predicate: Callable[[float], bool], good: float, bad: float, tolerance: float) -> float:
    """The point nearest ``bad`` at which ``predicate`` holds, to ``tolerance`` (it holds at ``good``)."""
    while abs(bad - good) > tolerance:
        mid = 0.5 * (good + bad)
        if predicate(mid):
            good = mid
        else:
            bad = mid
    return good


def _compositions(total: int, parts: int):
    """Every tuple of ``parts`` non-negative integers summing to ``total`` (deterministic order)."""
    if parts == 1:
        yield (total,)
        return
    for first in range(total, -1, -1):
        for rest in _compositions(total - first, parts - 1):
            yield (first,) + rest


def _pulse_intervals(start: int, D: int, fraction: tuple[int, int] | None) -> tuple:
    """On-intervals in recording intervals: ``D`` on, from ``start``, continuous or in (on, off) fractions."""
    if D <= 0:
        return ()
    if fraction is None:
        return ((start, start + D, 1.0),)
    on, off = fraction
    out, t, left = [], start, D
    while left > 0:
        length = min(on, left)
        out.append((t, t + length, 1.0))
        left -= length
        t += on + off
    return tuple(out)


def _exposure_end(start: int, D: int, fraction: tuple[int, int] | None) -> int:
    ivs = _pulse_intervals(start, D, fraction)
    return ivs[-1][1] if ivs else start


def _slack(cv) -> float:
    return -math.inf if cv.slack is None else cv.slack


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.6g}"


# -- the public entry points ---------------------------------------------------------------
def optimise_plan(
    responses: UnitResponses,
    objective: Objective,
    constraints: Sequence[Constraint] = (),
    variables: PlanVariables | None = None,
    *,
    n_durations: int = 9,
    n_directions: int = 8,
    power_rtol: float = 1e-3,
    binding_rtol: float = 0.01,
    objective_tolerance: float = 1e-12,
    tie_break: str = "least_energy",
    direction_tolerance: float = 1.0 / 64,
    max_rounds: int = 10,
    progress: bool | None = None,
) -> PlanResult:
    """Choose source powers, exposure time and fractionation against an objective and constraints.

    Parameters
    ----------
    responses : UnitResponses
        Unit responses of the (linear) model, recorded on the structures the
        objective and constraints name.
    objective : Objective
    constraints : sequence of Constraint
    variables : PlanVariables
        Power bounds [W], exposure-time bounds [s], start [s] and fractionation candidates.
    n_durations : int
        Exposure times on the coarse grid (>= 2 unless fixed).
    n_directions : int
        Divisions of the simplex of power ratios (several free sources).
    power_rtol : float
        Bisection tolerance on the powers, relative to each free source's range.
    binding_rtol : float
        Relative power change used to decide which constraints bind.
    objective_tolerance : float
        Objective values closer than this are ties.
    tie_break : {"least_energy", "most_energy"}
        Among plans of equal objective, prefer the least (most) energy.
    direction_tolerance : float
        Smallest step of the pattern search on power ratios.
    max_rounds : int
        Rounds of local refinement.
    progress : bool or None
        Progress bar (None: shown after 2 s).

    Returns
    -------
    PlanResult
        ``feasible=False``, with a message naming the constraint(s) that
        cannot be met, when no plan meets them.

    Raises
    ------
    InputError
        Bad objective, constraints, variables or settings (all listed with
        key paths); structures or quantities the responses do not hold.
    """
    problems = Problems()
    if not problems.check(isinstance(responses, UnitResponses), "responses", type(responses).__name__,
                          "a UnitResponses"):
        problems.raise_if_any("cannot optimise the plan")
    validate_goals(objective, list(constraints) if isinstance(constraints, (list, tuple)) else constraints,
                   structures=responses.structure_names, quantities=responses.available_quantities(),
                   problems=problems)
    for name, value, low in (("n_durations", n_durations, 1), ("n_directions", n_directions, 1),
                             ("max_rounds", max_rounds, 0)):
        problems.check(isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low,
                       name, value, f"a whole number >= {low}")
    for name, value in (("power_rtol", power_rtol), ("binding_rtol", binding_rtol),
                        ("direction_tolerance", direction_tolerance)):
        problems.check(isinstance(value, (int, float)) and 0 < value < 1, name, value, "a number in (0, 1)")
    problems.non_negative(objective_tolerance, "objective_tolerance", "(objective's unit)")
    problems.check(tie_break in TIE_BREAKS, "tie_break", tie_break, f"one of {', '.join(TIE_BREAKS)}")
    bounds, schemes, durations = _check_variables(variables, responses, problems)
    problems.raise_if_any("cannot optimise the plan")

    options = dict(n_durations=int(n_durations), n_directions=int(n_directions), power_rtol=float(power_rtol),
                   objective_tolerance=float(objective_tolerance), tie_break=tie_break,
                   direction_tolerance=float(direction_tolerance), max_rounds=int(max_rounds))
    search = _Search(responses, objective, constraints, variables, bounds, schemes, durations, options)
    best = search.run(progress)
    settings = {**options, "binding_rtol": binding_rtol,
                "power_bounds_W": [list(b) for b in bounds],
                "duration_bounds_s": [None if d is None else [d[0] * responses.interval, d[1] * responses.interval]
                                      for d in durations],
                "fractionation": [None if f is None else f.describe() for f, _ in schemes]}
    if best is None:
        return _infeasible(search, objective, settings)
    return _feasible(search, best, float(binding_rtol), settings)


def _check_variables(variables, responses: UnitResponses, problems: Problems):
    """(power bounds per source, [(Fractionation, (on, off) in intervals)], [(Dlo, Dhi) or None per scheme])."""
    n = responses.n_sources
    bounds = [(0.0, 0.0)] * n
    schemes = [(None, None)]
    durations = [None]
    if not problems.check(isinstance(variables, PlanVariables), "variables", variables, "a PlanVariables"):
        return bounds, schemes, durations
    tau, K = responses.interval, responses.n_samples - 1
    # powers
    raw = variables.powers
    items: list[tuple[str, Any]] = []
    if isinstance(raw, Mapping):
        given = {}
        for key, value in raw.items():
            if problems.check(key in responses.source_names, f"variables.powers[{key!r}]", key,
                              f"a source name ({', '.join(responses.source_names)})"):
                given[key] = value
        for i, name in enumerate(responses.source_names):
            problems.check(name in given, f"variables.powers[{name!r}]", None,
                           "a fixed power or (low, high) bounds [W] for every source")
            items.append((f"variables.powers[{name!r}]", given.get(name, 0.0)))
    elif problems.check(isinstance(raw, (list, tuple)) and len(raw) == n, "variables.powers", raw,
                        f"{n} entries (a fixed power or (low, high) [W]), one per source "
                        f"({', '.join(responses.source_names)})"):
        items = [(f"variables.powers[{i}]", v) for i, v in enumerate(raw)]
    if items:
        bounds = []
        for path, v in items:
            lo, hi = (v, v) if np.ndim(v) == 0 else (tuple(v) + (None, None))[:2] if len(v) == 2 else (None, None)
            ok = all(isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)
                     and math.isfinite(x) and x >= 0 for x in (lo, hi))
            ok = problems.check(ok and lo <= hi, path, v, "a power >= 0 or bounds (low, high) with 0 <= low <= high [W]")
            bounds.append((float(lo), float(hi)) if ok else (0.0, 0.0))
    # start
    start = variables.start
    start_ok = problems.check(
        isinstance(start, (int, float)) and math.isfinite(start) and 0 <= start < responses.horizon
        and _on_grid(start, tau), "variables.start", start,
        f"a time in [0, horizon {responses.horizon:g} s) that is a multiple of the recording interval {tau:.6g} s")
    # duration and fractionation
    duration = variables.duration
    fractions = variables.fractionation
    if not problems.check(isinstance(fractions, (list, tuple)) and len(fractions) > 0, "variables.fractionation",
                          fractions, "a non-empty list of Fractionation, (on, off) [s] or None"):
        fractions = [None]
    if duration is None:
        problems.check(all(f is None for f in fractions), "variables.fractionation", fractions,
                       "(None,) when duration is None (the sources keep their own schedules)")
        problems.check(start == 0.0, "variables.start", start, "0 when duration is None")
        try:
            responses.resolve(None, None, path="model.heat_sources schedules: ")
        except InputError as error:
            problems.items.extend(error.problems)
        return bounds, [(None, None)], [None]
    lo_d, hi_d = (duration, duration) if np.ndim(duration) == 0 else (tuple(duration) + (None, None))[:2] \
        if len(duration) == 2 else (None, None)
    if not problems.check(all(isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)
                              and math.isfinite(x) and x >= 0 for x in (lo_d, hi_d)) and lo_d <= hi_d,
                          "variables.duration", duration,
                          "an exposure time >= 0 or bounds (shortest, longest) [s]"):
        return bounds, schemes, durations
    D_lo, D_hi = math.ceil(lo_d / tau - _GRID_RTOL), math.floor(hi_d / tau + _GRID_RTOL)
    problems.check(D_hi >= D_lo, "variables.duration", duration,
                   f"bounds containing a multiple of the recording interval {tau:.6g} s")
    schemes, durations = [], []
    start_index = int(round(start / tau)) if start_ok else 0
    for i, f in enumerate(fractions):
        path = f"variables.fractionation[{i}]"
        if f is None:
            pair = None
        else:
            on, off = (f.on, f.off) if isinstance(f, Fractionation) else (tuple(f) + (None, None))[:2] \
                if isinstance(f, (list, tuple)) and len(f) == 2 else (None, None)
            good = all(isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)
                       and math.isfinite(x) for x in (on, off)) and on > 0 and off >= 0
            if not problems.check(good and _on_grid(on, tau) and _on_grid(off, tau), path, f,
                                  f"None or (on > 0, off >= 0) [s], multiples of the recording interval {tau:.6g} s"):
                continue
            f = Fractionation(float(on), float(off))
            pair = (int(round(on / tau)), int(round(off / tau)))
        # the longest exposure that ends within the horizon
        top = D_lo - 1
        for D in range(max(D_lo, 0), D_hi + 1):
            if _exposure_end(start_index, D, pair) <= K:
                top = D
            else:
                break
        if problems.check(top >= D_lo, path if f is not None else "variables.duration", f if f is not None else duration,
                          f"an exposure of at least {D_lo * tau:g} s that ends by the horizon {responses.horizon:g} s "
                          f"(starting at {start:g} s{'' if pair is None else ' with these fractions'})"):
            schemes.append((f, pair))
            durations.append((D_lo, top))
    if not schemes:
        schemes, durations = [(None, None)], [(0, 0)]
    return bounds, schemes, durations


def _on_grid(t: float, interval: float) -> bool:
    return abs(t / interval - round(t / interval)) <= _GRID_RTOL


def _make_plan(search: _Search, c: _Candidate) -> Plan:
    r = search.r
    tau = r.interval
    ivs = tuple(tuple((on * tau, math.inf if off is None else off * tau, lv) for on, off, lv in src)
                for src in search.intervals(c.scheme, c.steps))
    fraction = search.schemes[c.scheme][0]
    return Plan(
        source_names=r.source_names, powers=c.powers, nominal_powers=r.nominal_powers, on_intervals=ivs,
        horizon=r.horizon, duration=None if c.steps is None else c.steps * tau,
        start=search.start if c.steps is not None else 0.0, fractionation=fraction,
    )


def _feasible(search: _Search, best: _Candidate, binding_rtol: float, settings: dict) -> PlanResult:
    r, objective = search.r, search.objective
    # binding: a small push towards more (less) heating violates an upper (lower) constraint
    up, down = None, None
    if search.free:
        def pushed(factor):
            p = list(best.powers)
            for i in search.free:
                p[i] = p[i] * factor if p[i] > 0 else (factor - 1.0) * search.bounds[i][1]
            return tuple(max(0.0, x) for x in p)
        up = search.evaluate(best.scheme, best.steps, pushed(1.0 + binding_rtol))
        down = search.evaluate(best.scheme, best.steps, pushed(1.0 - binding_rtol))
    elif best.steps is not None:
        K = r.n_samples - 1
        pair = search.schemes[best.scheme][1]
        if _exposure_end(search.start_index, best.steps + 1, pair) <= K:
            up = search.evaluate(best.scheme, best.steps + 1, best.powers)
        if best.steps > 0:
            down = search.evaluate(best.scheme, best.steps - 1, best.powers)
    values = []
    for i, (c, cv) in enumerate(zip(search.constraints, best.evaluation.constraints)):
        probe = up if c.bound == "<=" else down
        binding = probe is not None and cv.satisfied and not probe.constraints[i].satisfied
        values.append(dataclasses.replace(cv, binding=binding))
    binding_names = tuple(cv.name for cv in values if cv.binding)
    at_bounds = []
    for i in search.free:
        lo, hi = search.bounds[i]
        name = r.source_names[i]
        if best.powers[i] >= hi * (1 - 1e-12):
            at_bounds.append(f"power of {name!r} at its upper bound {hi:g} W")
        elif best.powers[i] <= lo * (1 + 1e-12):
            at_bounds.append(f"power of {name!r} at its lower bound {lo:g} W")
    if best.steps is not None:
        lo_D, hi_D = search.durations[best.scheme]
        if hi_D > lo_D and best.steps == hi_D:
            at_bounds.append(f"exposure at its longest, {hi_D * r.interval:g} s")
        elif hi_D > lo_D and best.steps == lo_D:
            at_bounds.append(f"exposure at its shortest, {lo_D * r.interval:g} s")
    plan = _make_plan(search, best)
    full = search.full
    predicted = full._evaluate(plan.scales, search.intervals(best.scheme, best.steps), full.available_quantities())
    value = best.evaluation.objective
    verb = "maximised" if objective.sense == "maximise" else "minimised"
    text = f"{objective.label} {verb} at {_fmt(value)}{'' if not objective.unit else ' ' + objective.unit}"
    if binding_names:
        text += "; limited by " + ", ".join(binding_names)
    elif at_bounds:
        text += "; limited by the bounds: " + "; ".join(at_bounds)
    else:
        text += (f"; no constraint binds: the objective is flat here ({search.o['tie_break'].replace('_', ' ')} "
                 "plan among those reaching it)")
    if binding_names and at_bounds:
        text += "; at bounds: " + "; ".join(at_bounds)
    return PlanResult(True, text, plan, objective, value, tuple(values), binding_names, tuple(at_bounds),
                      search.count, predicted, search.full, settings)


def _infeasible(search: _Search, objective: Objective, settings: dict) -> PlanResult:
    """Name the constraints that no plan can meet."""
    r = search.r
    lows, highs = [], []
    for sc in range(len(search.schemes)):
        D = search.durations[sc]
        low_powers = tuple(lo for lo, _ in search.bounds)
        high_powers = tuple(hi for _, hi in search.bounds)
        lows.append(search.evaluate(sc, None if D is None else D[0], low_powers))
        highs.append(search.evaluate(sc, None if D is None else D[1], high_powers))
    n = len(search.constraints)
    # a constraint violated at both extremes of every scheme cannot be met (monotone metrics)
    dead = [i for i in range(n)
            if all(not lo.constraints[i].satisfied and not hi.constraints[i].satisfied for lo, hi in zip(lows, highs))]
    tau = r.interval

    def words(which: str, index: int) -> str:
        powers = ", ".join(f"{b[index]:g}" for b in search.bounds)
        text = f"the {which}est powers ({powers} W)"
        D = search.durations[0]
        if D is not None:
            text += f" and {'short' if index == 0 else 'long'}est exposure ({D[index] * tau:g} s)"
        return text

    low_words, high_words = words("low", 0), words("high", 1)
    parts = []
    closest = list(lows[0].constraints)
    for i in dead:
        at_low, at_high = lows[0].constraints[i], highs[0].constraints[i]
        near_low = _slack(at_low) >= _slack(at_high)
        cv = at_low if near_low else at_high
        closest[i] = cv
        parts.append(f"{cv} even at {low_words if near_low else high_words}")
    if parts:
        message = "cannot be met: " + "; ".join(parts)
    else:
        need_less = [c.label for i, c in enumerate(search.constraints) if not highs[0].constraints[i].satisfied]
        need_more = [c.label for i, c in enumerate(search.constraints) if not lows[0].constraints[i].satisfied]
        message = ("cannot be met together: the upper limit(s) " + ", ".join(need_less) + " and the lower limit(s) "
                   + ", ".join(need_more) + " exclude each other; every plan searched violates one of them")
        if not need_less or not need_more:
            message = "no searched plan meets every constraint: " + "; ".join(
                str(cv) for cv in lows[0].constraints if not cv.satisfied)
    extremes = {"lowest": [cv.describe() for cv in lows[0].constraints],
                "highest": [cv.describe() for cv in highs[0].constraints]}
    binding = tuple(search.constraints[i].label for i in dead)
    return PlanResult(False, message, None, objective, None, tuple(closest), binding, (), search.count, None, search.full,
                      settings, extremes)


# -- confirmation by a full simulation --------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Confirmation:
    """Predicted and simulated metrics of a plan, side by side.

    Attributes
    ----------
    plan : Plan
    result : Result
        The full simulation.
    rows : list of dict
        One per objective, constraint and per-structure summary metric:
        ``what``, ``label``, ``unit``, ``predicted``, ``simulated``,
        ``difference`` (simulated - predicted), and for constraints ``limit``,
        ``satisfied_predicted``, ``satisfied_simulated``.
    feasible_in_simulation : bool
        Every constraint holds in the full simulation.
    max_difference : dict of str to float
        Largest absolute voxel difference, simulated - predicted, of each
        predicted quantity over the recorded voxels.
    """

    plan: Plan
    result: Any
    rows: list
    feasible_in_simulation: bool
    max_difference: dict

    def table(self) -> str:
        """A plain-text table of the rows."""
        head = f"{'':10} {'metric':44} {'predicted':>12} {'simulated':>12} {'difference':>11}"
        lines = [head, "-" * len(head)]
        for row in self.rows:
            label = row["label"] + (f" [{row['unit']}]" if row["unit"] else "")
            lines.append(f"{row['what']:10} {label[:44]:44} {_fmt(row['predicted']):>12} "
                         f"{_fmt(row['simulated']):>12} {_fmt(row['difference']):>11}")
        lines.append("constraints hold in the simulation" if self.feasible_in_simulation
                     else "a constraint is VIOLATED in the simulation")
        return "\n".join(lines)

    def describe(self) -> dict:
        return {"plan": self.plan.describe(), "rows": self.rows, "feasible_in_simulation": self.feasible_in_simulation,
                "max_difference": self.max_difference}


def confirm(
    plan_result: PlanResult,
    model=None,
    *,
    progress: bool | None = None,
    output=None,
    overwrite: bool = True,
    figures: bool = True,
) -> Confirmation:
    """Run one full simulation of the chosen plan and compare it with the prediction.

    Parameters
    ----------
    plan_result : PlanResult
        A feasible result of :func:`optimise_plan`.
    model : PennesModel or callable, optional
        The model to simulate: default the responses' model; a
        :class:`~phototherm.PennesModel` with one heat source per planned
        source (rescaled and rescheduled by :meth:`Plan.apply`; it may differ
        from the planning model, e.g. have vascular shutdown, to see what the
        linear prediction missed); or a callable ``builder(plan)`` returning
        the model to run as it is.
    progress : bool or None
        Progress bar of the simulation.
    output, overwrite, figures
        Write the simulation's results folder (see :meth:`phototherm.Simulation.run`).

    Returns
    -------
    Confirmation
        The simulation's :class:`~phototherm.Result` and predicted vs simulated
        metrics. The simulation uses the responses' step, stepper, device
        and dtype, so with a linear model and ``record_every = 1`` they agree
        to rounding.

    Raises
    ------
    InputError
        An infeasible result (no plan), a model with the wrong number of
        heat sources, or a builder that does not return a PennesModel.
    """
    from ..bioheat import PennesModel
    from ..simulation import Simulation

    problems = Problems()
    ok = problems.check(isinstance(plan_result, PlanResult), "plan_result", type(plan_result).__name__,
                        "a PlanResult from optimise_plan")
    if ok:
        problems.check(plan_result.plan is not None, "plan_result.plan", None,
                       f"a plan: the optimisation found none ({plan_result.message})")
    problems.raise_if_any("cannot confirm the plan")
    plan, r = plan_result.plan, plan_result.responses
    if model is None:
        model = plan.apply(r.model)
    elif isinstance(model, PennesModel):
        model = plan.apply(model)
    elif callable(model):
        built = model(plan)
        if not isinstance(built, PennesModel):
            raise InputError("cannot confirm the plan", [Problem("model", type(built).__name__,
                                                                 "a builder returning a PennesModel")])
        model = built
    else:
        raise InputError("cannot confirm the plan", [Problem("model", type(model).__name__,
                                                             "None, a PennesModel or a callable builder(plan)")])
    problems.check(model.grid.shape == r.model.grid.shape, "model.grid.shape", model.grid.shape,
                   f"the planning grid's shape {r.model.grid.shape}")
    problems.raise_if_any("cannot confirm the plan")
    therapy = None if r.photodynamic is None else plan.apply_therapy(r.photodynamic.therapy)
    sim = Simulation(model, stop_time=r.horizon, dt=r.dt, stepper=r.stepper, device=r.device, dtype=r.dtype,
                     rtol=r.rtol, num_threads=r.num_threads, progress=progress, photodynamic=therapy)
    result = sim.run(output, overwrite=overwrite, figures=figures) if output is not None else sim.run()
    return compare(plan_result, result)


def compare(plan_result: PlanResult, result) -> Confirmation:
    """Predicted against simulated metrics of a plan, from a full simulation's result.

    Parameters
    ----------
    plan_result : PlanResult
        A feasible result of :func:`optimise_plan`.
    result : Result
        A full simulation of its plan on the same grid (e.g. ``phototherm
        run`` of the planned scenario).

    Returns
    -------
    Confirmation
    """
    plan, r = plan_result.plan, plan_result.responses

    def simulated(structure: str, quantity: str) -> np.ndarray:
        return np.asarray(result.fields[QUANTITIES[quantity].field])[r.structure(structure).mask]

    rows = []
    obj = plan_result.objective
    sim_obj = obj.value(simulated(obj.structure, obj.quantity)) if QUANTITIES[obj.quantity].field in result.fields \
        else None
    rows.append(_row("objective", obj.label, obj.unit, plan_result.objective_value, sim_obj))
    feasible = True
    for cv in plan_result.constraints:
        c = cv.constraint
        sim_cv = c.evaluate(simulated(c.structure, c.quantity)) \
            if QUANTITIES[c.quantity].field in result.fields else c.judge(None)
        feasible &= sim_cv.satisfied
        row = _row("constraint", c.label + f" {c.bound} {c.limit:g}", c.unit, cv.value, sim_cv.value)
        row.update(limit=c.limit, satisfied_predicted=cv.satisfied, satisfied_simulated=sim_cv.satisfied)
        rows.append(row)
    predicted = plan_result.predicted
    for s in r.structures:
        for q in predicted.values:
            field_name = QUANTITIES[q].field
            if field_name not in result.fields:
                continue
            for metric in ("max", "mean"):
                p = metric_value(predicted.structure_values(s.name, q), q, metric)
                v = metric_value(simulated(s.name, q), q, metric)
                if p is not None or v is not None:  # not modelled in this structure (NaN): no row
                    rows.append(_row("structure", f"{s.name} {q} {metric}", QUANTITIES[q].unit, p, v))
    max_difference = {}
    for q, values in predicted.values.items():
        field_name = QUANTITIES[q].field
        if field_name in result.fields:
            diff = np.asarray(result.fields[field_name]).reshape(-1)[r.voxels] - values
            diff = diff[np.isfinite(diff)]
            max_difference[q] = float(np.max(np.abs(diff))) if diff.size else 0.0
    return Confirmation(plan, result, rows, bool(feasible), max_difference)


def _row(what: str, label: str, unit: str, predicted, simulated) -> dict:
    unit = {"degC": "C", "1": ""}.get(unit, unit)
    diff = None if predicted is None or simulated is None else simulated - predicted
    return {"what": what, "label": label, "unit": unit, "predicted": predicted, "simulated": simulated,
            "difference": diff}
