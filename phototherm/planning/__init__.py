"""Plan evaluation and optimisation: structures, dose-volume metrics, superposition, the optimiser.

The *evaluation* stage of the pipeline (see the README's design notes): a run's
fields (:class:`phototherm.Result`) are judged per structure (tumour, margin,
skin, organs at risk) by minimum, mean and maximum, coverage values D_x,
threshold volumes V and cumulative dose-volume histograms, for each treatment
quantity (peak temperature, CEM43, Arrhenius damage, fluence, reacted singlet
oxygen, surviving fractions).

Typical use on a finished run ``result``::

    import phototherm.planning as plan
    from phototherm.viz.dvh import plot_dvh

    structures = plan.structures_from_labels(
        result.labels, result.label_names, roles={"tumour": "target", "skin": "organ_at_risk"})
    tumour = next(s for s in structures if s.name == "tumour")
    structures.append(plan.margin(tumour, 1e-3, result.grid))   # 1 mm shell around the tumour
    table = plan.evaluate(result, structures)                   # {structure: {quantity: metrics}}
    table["tumour"]["CEM43"]["D90"]                             # [min]
    plot_dvh(plan.dvh_curves(result, structures, "T_max"), "dvh_T_max.png")
"""

from __future__ import annotations

from .metrics import (
    DEFAULT_THRESHOLDS,
    DIRECTIONS,
    QUANTITIES,
    DVHCurve,
    Quantity,
    cumulative_dvh,
    dose_at_volume,
    dvh_curves,
    evaluate,
    finite_values,
    quantity_metrics,
    volume_at_threshold,
)
from .objectives import METRICS, Constraint, ConstraintValue, Objective
from .optimise import Confirmation, Fractionation, Plan, PlanResult, PlanVariables, compare, confirm, optimise_plan
from .structures import ROLES, Structure, margin, structures_from_labels
from .superposition import SuperposedDose, UnitResponses

__all__ = [
    "Structure",
    "ROLES",
    "structures_from_labels",
    "margin",
    "Quantity",
    "QUANTITIES",
    "DEFAULT_THRESHOLDS",
    "DIRECTIONS",
    "DVHCurve",
    "finite_values",
    "dose_at_volume",
    "volume_at_threshold",
    "cumulative_dvh",
    "quantity_metrics",
    "evaluate",
    "dvh_curves",
    "UnitResponses",
    "SuperposedDose",
    "Objective",
    "Constraint",
    "ConstraintValue",
    "METRICS",
    "PlanVariables",
    "Fractionation",
    "Plan",
    "PlanResult",
    "Confirmation",
    "optimise_plan",
    "confirm",
    "compare",
]
