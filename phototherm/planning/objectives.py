"""Objectives and constraints of a treatment plan, judged per structure.

A goal names a structure, a treatment quantity (a short name of
:data:`phototherm.planning.QUANTITIES`: ``"T_max"``, ``"CEM43"``, ``"Omega"``,
``"fluence"``, ...) and a *metric* of that quantity over the structure's
voxels, computed with the functions of :mod:`phototherm.planning.metrics`:

=========  ==========================================================  ===================
metric     value                                                       ``level``
=========  ==========================================================  ===================
``"V"``    fraction of the voxels reaching ``level`` (0 to 1)           threshold, in the
                                                                       quantity's unit
``"D"``    D_x: the level reached by at least a fraction x              x, 0 < x <= 1
``"max"``  largest value                                                none
``"mean"`` mean value                                                   none
``"min"``  smallest value                                               none
=========  ==========================================================  ===================

"Reaching" follows the quantity's direction (value >= level for
temperatures and doses, <= level for surviving fractions); NaN voxels (not
modelled) are left out, and a metric over no evaluated voxel is ``None``.

An :class:`Objective` is maximised or minimised; a :class:`Constraint` bounds
a metric from above (``"<="``) or below (``">="``) and reports its value,
limit and *slack* (how far inside the limit the value is: ``limit - value``
for ``"<="``, ``value - limit`` for ``">="``; negative when violated).

Examples
--------
>>> import numpy as np
>>> coverage = Objective("tumour", "CEM43", "V", level=240.0)
>>> coverage.value(np.array([100.0, 240.0, 300.0, 500.0]))
0.75
>>> skin = Constraint("skin", "T_max", "max", 45.0)
>>> c = skin.evaluate(np.array([41.0, 44.5]))
>>> c.value, c.slack, c.satisfied
(44.5, 0.5, True)
>>> str(Constraint("healthy", "CEM43", "max", 10.0).evaluate(np.array([12.0])))
'healthy CEM43 max = 12 min > 10 min (violated by 2)'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import Problems
from .metrics import QUANTITIES, dose_at_volume, finite_values, volume_at_threshold

__all__ = [
    "METRICS",
    "SENSES",
    "BOUNDS",
    "Objective",
    "Constraint",
    "ConstraintValue",
    "metric_value",
    "validate_goals",
]

#: Metrics of a quantity over a structure.
METRICS = ("V", "D", "max", "mean", "min")
#: Senses of an objective.
SENSES = ("maximise", "minimise")
#: Kinds of constraint bound.
BOUNDS = ("<=", ">=")


def metric_value(values: Any, quantity: str, metric: str, level: float | None = None) -> float | None:
    """One metric of one quantity over one structure's values.

    Parameters
    ----------
    values : array_like
        The quantity in the structure's voxels (NaN: not modelled, excluded).
    quantity : str
        Short name in :data:`~phototherm.planning.QUANTITIES` (gives the direction).
    metric : {"V", "D", "max", "mean", "min"}
    level : float, optional
        Threshold for ``"V"`` (quantity's unit), fraction x for ``"D"``.

    Returns
    -------
    float or None
        ``None`` when no voxel is evaluated.
    """
    direction = QUANTITIES[quantity].direction
    if metric == "V":
        return volume_at_threshold(values, level, direction=direction)
    if metric == "D":
        return dose_at_volume(values, level, direction=direction)
    kept, _ = finite_values(values)
    if kept.size == 0:
        return None
    return float({"max": np.max, "mean": np.mean, "min": np.min}[metric](kept))


def _describe_metric(structure: str, quantity: str, metric: str, level) -> tuple[str, str]:
    """(label, unit of the metric value)."""
    q = QUANTITIES.get(quantity)
    unit = q.unit if q else ""
    if metric == "V":
        sign = "<=" if q is not None and q.direction == "lower" else ">="
        return f"{structure} V({quantity} {sign} {_with_unit(level, unit)})", ""
    if metric == "D":
        return f"{structure} {quantity} D{100.0 * float(level):.10g}", unit
    return f"{structure} {quantity} {metric}", unit


def _num(x) -> str:
    return f"{float(x):.6g}" if isinstance(x, (int, float, np.integer, np.floating)) else str(x)


def _with_unit(x, unit: str) -> str:
    if x is None:
        return "n/a"
    unit = {"degC": "C", "1": ""}.get(unit, unit)
    return f"{_num(x)} {unit}".rstrip()


def _validate_common(goal, path: str, problems: Problems, structures, quantities) -> None:
    problems.check(isinstance(goal.structure, str) and goal.structure != "", f"{path}.structure", goal.structure,
                   "a structure name")
    if structures is not None and isinstance(goal.structure, str) and goal.structure:
        problems.check(goal.structure in structures, f"{path}.structure", goal.structure,
                       f"one of the structures {', '.join(structures)}")
    if not problems.check(goal.quantity in QUANTITIES, f"{path}.quantity", goal.quantity,
                          f"one of {', '.join(QUANTITIES)}"):
        pass
    elif quantities is not None:
        nonlinear = goal.quantity in ("1O2rx", "pdt_dose", "pdt_survival", "survival")
        problems.check(goal.quantity in quantities, f"{path}.quantity", goal.quantity,
                       ("a quantity of the responses: photodynamic ones need the therapy (and the survival ones "
                        "its survival model) in UnitResponses.compute; available: " if nonlinear else "one of ")
                       + ", ".join(quantities))
    if problems.check(goal.metric in METRICS, f"{path}.metric", goal.metric, f"one of {', '.join(METRICS)}"):
        level = goal.level
        number = isinstance(level, (int, float, np.integer, np.floating)) and not isinstance(level, bool)
        if goal.metric == "V":
            problems.check(number and math.isfinite(level), f"{path}.level", level,
                           "a finite threshold in the quantity's unit (metric V)")
        elif goal.metric == "D":
            problems.check(number and 0.0 < level <= 1.0, f"{path}.level", level,
                           "a fraction x with 0 < x <= 1 (metric D)")
        else:
            problems.check(level is None, f"{path}.level", level, f"None (metric {goal.metric} takes no level)")


@dataclass(frozen=True)
class Objective:
    """What the plan should make as large (or as small) as possible.

    Parameters
    ----------
    structure : str
        Name of the structure.
    quantity : str
        Short name in :data:`~phototherm.planning.QUANTITIES`.
    metric : {"V", "D", "max", "mean", "min"}
    level : float, optional
        Threshold for ``"V"`` (e.g. 240 CEM43 [min], 50 C peak
        temperature), fraction x for ``"D"`` (0.9 for D90); none otherwise.
    sense : {"maximise", "minimise"}

    Examples
    --------
    >>> Objective("tumour", "CEM43", "V", 240.0).label
    'tumour V(CEM43 >= 240 min)'
    """

    structure: str
    quantity: str
    metric: str
    level: float | None = None
    sense: str = "maximise"

    @property
    def label(self) -> str:
        """Words for reports."""
        return _describe_metric(self.structure, self.quantity, self.metric, self.level)[0]

    @property
    def unit(self) -> str:
        """Unit of the objective's value ("" for fractions)."""
        return _describe_metric(self.structure, self.quantity, self.metric, self.level)[1]

    def validate(self, path: str = "objective", problems: Problems | None = None, *,
                 structures: Sequence[str] | None = None, quantities: Sequence[str] | None = None) -> None:
        """Check the fields (and that the structure and quantity are available).

        Raises
        ------
        InputError
            When ``problems`` is not given and something is wrong; every
            problem with its key path (``objective.metric``, ...).
        """
        own = problems is None
        problems = Problems() if own else problems
        _validate_common(self, path, problems, structures, quantities)
        problems.check(self.sense in SENSES, f"{path}.sense", self.sense, f"one of {', '.join(SENSES)}")
        if own:
            problems.raise_if_any("invalid objective")

    def value(self, values: Any) -> float | None:
        """The objective over one structure's values (None if none is evaluated)."""
        return metric_value(values, self.quantity, self.metric, self.level)

    def tie_value(self, values: Any) -> float | None:
        """Secondary measure that ranks plans of equal ``"V"`` objective (None for other metrics).

        A coverage fraction is a step function: it changes only when a voxel
        crosses the level, so many plans share one value (0 when no voxel can
        reach the level). Plans of equal V are ranked, in the objective's sense,
        by the mean of the values clipped at the level on the side that V
        does not count yet: for ``maximise V(q >= L)`` the mean of
        ``min(q, L)`` (voxels below the level are brought closer to it), for
        ``minimise V(q >= L)`` the mean of ``max(q, L)`` (the excess above it),
        and mirrored for quantities where lower is more effect (surviving
        fractions). It stops changing once every voxel is on the same side of
        the level, where the optimiser's tie-break (least energy) takes over.
        """
        if self.metric != "V":
            return None
        kept, _ = finite_values(values)
        if kept.size == 0:
            return None
        level = float(self.level)
        higher = QUANTITIES[self.quantity].direction == "higher"
        if higher == (self.sense == "maximise"):
            clipped = np.minimum(kept, level) if higher else np.maximum(kept, level)
        else:
            clipped = np.maximum(kept, level) if higher else np.minimum(kept, level)
        value = float(np.mean(clipped))
        return value if higher else -value

    def better(self, a: float | None, b: float | None, tolerance: float = 0.0) -> bool:
        """Whether value ``a`` is better than ``b`` by more than ``tolerance`` (None is worst)."""
        if a is None:
            return False
        if b is None:
            return True
        return a > b + tolerance if self.sense == "maximise" else a < b - tolerance

    def describe(self) -> dict:
        return {"structure": self.structure, "quantity": self.quantity, "metric": self.metric, "level": self.level,
                "sense": self.sense, "label": self.label, "unit": self.unit}


@dataclass(frozen=True)
class ConstraintValue:
    """A constraint judged on one plan.

    Attributes
    ----------
    constraint : Constraint
    value : float or None
        The metric's value (None: no voxel evaluated, counted as violated).
    limit : float
    slack : float or None
        ``limit - value`` for ``"<="``, ``value - limit`` for ``">="``;
        negative when violated.
    satisfied : bool
    binding : bool
        Whether the constraint limits the plan (set by the optimiser: a small
        push of the powers towards more heating would violate it).
    """

    constraint: "Constraint"
    value: float | None
    limit: float
    slack: float | None
    satisfied: bool
    binding: bool = False

    @property
    def name(self) -> str:
        return self.constraint.label

    def __str__(self) -> str:
        c = self.constraint
        unit = c.unit
        if self.value is None:
            return f"{c.label}: not evaluated (no voxel with a value) vs limit {_with_unit(c.limit, unit)}"
        if self.satisfied:
            relation = c.bound
            tail = "binding" if self.binding else "satisfied"
            return (f"{c.label} = {_with_unit(self.value, unit)} {relation} {_with_unit(c.limit, unit)} "
                    f"({tail}, slack {_num(self.slack)})")
        relation = ">" if c.bound == "<=" else "<"
        return (f"{c.label} = {_with_unit(self.value, unit)} {relation} {_with_unit(c.limit, unit)} "
                f"(violated by {_num(-self.slack)})")

    def describe(self) -> dict:
        return {"name": self.name, "value": self.value, "limit": self.limit, "bound": self.constraint.bound,
                "slack": self.slack, "satisfied": self.satisfied, "binding": self.binding, "unit": self.constraint.unit}


@dataclass(frozen=True)
class Constraint:
    """A limit on one metric of one quantity over one structure.

    Parameters
    ----------
    structure : str
        Name of the structure.
    quantity : str
        Short name in :data:`~phototherm.planning.QUANTITIES`.
    metric : {"V", "D", "max", "mean", "min"}
    limit : float
        The bound, in the metric's unit (a fraction 0 to 1 for ``"V"``).
    level : float, optional
        Threshold for ``"V"``, fraction x for ``"D"``; none otherwise.
    bound : {"<=", ">="}
        ``"<="``: metric at most ``limit`` (skin T_max <= 45 C); ``">="``: at
        least (tumour V(CEM43 >= 240) >= 0.95).
    name : str, optional
        Name in reports; default a description such as ``"skin T_max max"``.

    Examples
    --------
    >>> Constraint("tumour", "CEM43", "V", 0.95, level=240.0, bound=">=").evaluate([300.0, 10.0]).slack
    -0.44999999999999996
    """

    structure: str
    quantity: str
    metric: str
    limit: float
    level: float | None = None
    bound: str = "<="
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or _describe_metric(self.structure, self.quantity, self.metric, self.level)[0]

    @property
    def unit(self) -> str:
        return _describe_metric(self.structure, self.quantity, self.metric, self.level)[1]

    def validate(self, path: str = "constraint", problems: Problems | None = None, *,
                 structures: Sequence[str] | None = None, quantities: Sequence[str] | None = None) -> None:
        """Check the fields; see :meth:`Objective.validate`."""
        own = problems is None
        problems = Problems() if own else problems
        _validate_common(self, path, problems, structures, quantities)
        limit = self.limit
        if problems.check(isinstance(limit, (int, float, np.integer, np.floating)) and not isinstance(limit, bool)
                          and math.isfinite(limit), f"{path}.limit", limit, "a finite number in the metric's unit"):
            if self.metric == "V":
                problems.check(0.0 <= limit <= 1.0, f"{path}.limit", limit, "a fraction 0 to 1 (metric V)")
        problems.check(self.bound in BOUNDS, f"{path}.bound", self.bound, "'<=' or '>='")
        problems.check(self.name is None or (isinstance(self.name, str) and self.name != ""), f"{path}.name",
                       self.name, "None or a non-empty string")
        if own:
            problems.raise_if_any("invalid constraint")

    def value(self, values: Any) -> float | None:
        """The constrained metric over one structure's values."""
        return metric_value(values, self.quantity, self.metric, self.level)

    def judge(self, value: float | None, binding: bool = False) -> ConstraintValue:
        """A :class:`ConstraintValue` for an already computed metric value."""
        if value is None:
            return ConstraintValue(self, None, float(self.limit), None, False, binding)
        slack = float(self.limit) - value if self.bound == "<=" else value - float(self.limit)
        return ConstraintValue(self, value, float(self.limit), slack, slack >= 0.0, binding)

    def evaluate(self, values: Any) -> ConstraintValue:
        """Judge the constraint on one structure's values."""
        return self.judge(self.value(values))

    def describe(self) -> dict:
        return {"structure": self.structure, "quantity": self.quantity, "metric": self.metric, "limit": self.limit,
                "level": self.level, "bound": self.bound, "label": self.label, "unit": self.unit}


def validate_goals(objective: Objective, constraints: Sequence[Constraint], *,
                   structures: Sequence[str] | None = None, quantities: Sequence[str] | None = None,
                   problems: Problems | None = None) -> None:
    """Check an objective and its constraints together (key paths ``objective.*``, ``constraints[i].*``).

    Raises
    ------
    InputError
        When ``problems`` is not given and anything is wrong; every problem listed.
    """
    own = problems is None
    problems = Problems() if own else problems
    if problems.check(isinstance(objective, Objective), "objective", objective, "an Objective"):
        objective.validate("objective", problems, structures=structures, quantities=quantities)
    if problems.check(isinstance(constraints, (list, tuple)), "constraints", constraints,
                      "a list of Constraints (may be empty)"):
        for i, c in enumerate(constraints):
            if problems.check(isinstance(c, Constraint), f"constraints[{i}]", c, "a Constraint"):
                c.validate(f"constraints[{i}]", problems, structures=structures, quantities=quantities)
    if own:
        problems.raise_if_any("invalid plan goals")
