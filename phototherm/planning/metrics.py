"""Plan metrics per structure: dose-volume statistics and histograms.

The treatment quantities of a run (peak temperature, CEM43, Arrhenius damage,
fluence, reacted singlet oxygen, surviving fractions) are judged per
:class:`~phototherm.planning.Structure` the way radiotherapy judges dose:
minimum, mean and maximum, *coverage* values D_x (the level reached by a
fraction x of the structure), *threshold volumes* V (the part of the structure
reaching a level) and cumulative dose-volume histograms (DVH).

Direction
---------
Every quantity has a *direction* saying which way is "more treatment":

``"higher"``
    Larger values mean more effect (temperature, CEM43, Omega, fluence,
    [1O2]rx). A voxel *reaches* level ``d`` when its value is ``>= d``.
``"lower"``
    Smaller values mean more effect (surviving fractions: 0.01 is more kill
    than 0.5). A voxel *reaches* level ``s`` when its value is ``<= s``.

Coverage, threshold volumes and histograms are always defined on the effect
side, so "D90 of the tumour" means the same thing for every quantity: 90 % of
the tumour got at least this much treatment. For a surviving fraction, D90 is
the surviving fraction that 90 % of the structure is at *or below*.

Discrete definitions
--------------------
For the N voxels of a structure with values v (NaN excluded, see below),
ordered from most to least effect (descending for ``"higher"``, ascending
for ``"lower"``) as v_(1), ..., v_(N):

* ``volume_at_threshold(v, d)`` = (number of voxels reaching d) / N;
* ``dose_at_volume(v, x)`` = D_x = v_(k) with k = ceil(x N), for 0 < x <= 1:
  the level of greatest effect that at least a fraction x of the voxels
  reaches (e.g. with N = 10 and ``"higher"``, D90 is the 9th largest value
  and D95 the 10th, i.e. the minimum, since ceil(9.5) = 10);
* ``cumulative_dvh(v)`` = the step function d -> volume_at_threshold(v, d)
  evaluated exactly at the given levels (default: every distinct value).

Each voxel counts with the same weight (one grid, one voxel volume), so
fractions of voxels are fractions of volume.

Not modelled: NaN
-----------------
A NaN value means the quantity is not modelled in that voxel (e.g. Arrhenius
damage in a tissue without a damage model). NaN voxels are excluded from
every statistic, fractions are fractions of the *evaluated* (non-NaN) voxels,
and the number excluded is reported. A structure with no evaluated voxel gets
``None`` for every statistic, never 0. Infinite values take part in the
ordering; any statistic that is infinite is reported as ``None`` by
:func:`evaluate` so that its output is strict JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from ..errors import Problems
from .structures import Structure, check_structures

__all__ = [
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
]

#: Accepted directions (which way of a quantity means more treatment effect).
DIRECTIONS = ("higher", "lower")


class Quantity(NamedTuple):
    """A treatment quantity judged per structure.

    Attributes
    ----------
    field : str
        Name of the field in :attr:`phototherm.Result.fields`.
    unit : str
        Unit of the field's values.
    direction : {"higher", "lower"}
        ``"higher"`` when larger values mean more treatment effect,
        ``"lower"`` when smaller values do (surviving fractions).
    """

    field: str
    unit: str
    direction: str

    @property
    def label(self) -> str:
        """Words for plot axes (e.g. ``"peak temperature"``)."""
        return _LABELS.get(self.field, self.field)


#: The quantities :func:`evaluate` knows, by short name.
QUANTITIES: dict[str, Quantity] = {
    "T_max": Quantity("max_temperature_degC", "degC", "higher"),
    "CEM43": Quantity("cem43_min", "min", "higher"),
    "Omega": Quantity("arrhenius_omega", "1", "higher"),
    "fluence": Quantity("fluence_J_per_m2", "J/m^2", "higher"),
    "1O2rx": Quantity("singlet_oxygen_reacted_uM", "uM", "higher"),
    "pdt_dose": Quantity("pdt_dose_photons_per_m3", "1/m^3", "higher"),
    "survival": Quantity("surviving_fraction", "1", "lower"),
    "thermal_survival": Quantity("thermal_surviving_fraction", "1", "lower"),
    "pdt_survival": Quantity("pdt_surviving_fraction", "1", "lower"),
}

_LABELS = {
    "max_temperature_degC": "peak temperature",
    "cem43_min": "thermal dose CEM43",
    "arrhenius_omega": "Arrhenius damage Omega",
    "fluence_J_per_m2": "fluence",
    "singlet_oxygen_reacted_uM": "reacted singlet oxygen [1O2]rx",
    "pdt_dose_photons_per_m3": "PDT dose (photons absorbed by the sensitizer)",
    "surviving_fraction": "surviving fraction",
    "thermal_surviving_fraction": "thermal surviving fraction",
    "pdt_surviving_fraction": "PDT surviving fraction",
}

#: Levels whose threshold volumes :func:`evaluate` reports when not told
#: otherwise (PHYSICS.md sections 2 and 6): 43 C (the CEM43 breakpoint, a
#: usual skin limit) and 50 C (necrosis) peak temperature; 240 CEM43
#: (necrosis) and 10 CEM43 (upper healthy-tissue limit); Omega 1 (63 %
#: damage) and 4.6 (99 %); surviving fraction 0.01 (99 % kill). Fluence and
#: [1O2]rx thresholds depend on the tissue and sensitizer: none by default.
DEFAULT_THRESHOLDS: dict[str, tuple[float, ...]] = {
    "T_max": (43.0, 50.0),
    "CEM43": (10.0, 240.0),
    "Omega": (1.0, 4.6),
    "survival": (0.01,),
    "thermal_survival": (0.01,),
    "pdt_survival": (0.01,),
}

#: Relative tolerance on x N before rounding up (so that 0.07 x 100 gives k = 7, not 8).
_RANK_RTOL = 1e-12


# -- single-array statistics ------------------------------------------------------
def finite_values(values: Any) -> tuple[np.ndarray, int]:
    """The non-NaN values (flattened, float64) and the number of NaNs dropped.

    Parameters
    ----------
    values : array_like of real numbers
        Values of one structure (any shape).

    Returns
    -------
    kept : numpy.ndarray, shape (n,)
        Values that are not NaN (infinities are kept).
    n_nan : int
        Number of NaN values removed.
    """
    arr = np.asarray(values, dtype=np.float64).ravel()
    nan = np.isnan(arr)
    n_nan = int(nan.sum())
    return (arr[~nan] if n_nan else arr), n_nan


def dose_at_volume(values: Any, fraction: float, *, direction: str = "higher") -> float | None:
    """D_x: the level of greatest effect reached by at least a fraction x of the voxels.

    With the N non-NaN values ordered from most to least effect,
    v_(1), ..., v_(N) (descending for ``direction="higher"``, ascending for
    ``"lower"``), D_x = v_(k) with k = ceil(x N). For ``"higher"`` this is the
    largest level d such that at least a fraction x of the voxels have
    value >= d; for ``"lower"`` the smallest level s such that at least a
    fraction x have value <= s. ``x N`` is rounded up after a relative
    tolerance of 1e-12, so that floating-point noise such as
    ``0.07 * 100 = 7.000000000000001`` gives k = 7.

    Parameters
    ----------
    values : array_like of real numbers
        Values of the quantity in the structure's voxels (any shape; NaN
        means not modelled and is excluded).
    fraction : float
        x, the fraction of the structure, 0 < x <= 1 (0.9 for D90).
    direction : {"higher", "lower"}
        Which way of the quantity means more effect.

    Returns
    -------
    float or None
        D_x in the unit of ``values``; ``None`` when no value is left.

    Raises
    ------
    InputError
        ``fraction`` outside (0, 1]; an unknown direction; non-numeric values.

    Examples
    --------
    >>> dose_at_volume([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)
    2.0
    >>> dose_at_volume([0.5, 0.1, 0.01, 0.2], 0.5, direction="lower")
    0.1
    """
    problems = Problems()
    _check_fraction(fraction, "fraction", problems)
    _check_direction(direction, "direction", problems)
    problems.raise_if_any("cannot compute a dose-at-volume value")
    kept, _ = finite_values(values)
    return _dose_at_volume_sorted(_sorted_by_effect(kept, direction), fraction)


def volume_at_threshold(values: Any, level: float, *, direction: str = "higher") -> float | None:
    """V: the fraction of the voxels that reach ``level``.

    Counts values >= ``level`` for ``direction="higher"`` and values
    <= ``level`` for ``"lower"``, divided by the number of non-NaN values.
    Multiply by the evaluated volume for an absolute volume (as
    :func:`evaluate` does, in mm^3).

    Parameters
    ----------
    values : array_like of real numbers
        Values of the quantity in the structure's voxels (any shape; NaN is
        excluded).
    level : float
        Threshold, in the unit of ``values``.
    direction : {"higher", "lower"}
        Which way of the quantity means more effect.

    Returns
    -------
    float or None
        Fraction in [0, 1]; ``None`` when no value is left.

    Raises
    ------
    InputError
        A NaN or non-numeric level; an unknown direction.

    Examples
    --------
    >>> volume_at_threshold([40.0, 43.0, 45.0, 50.0], 43.0)
    0.75
    """
    problems = Problems()
    _check_level(level, "level", problems)
    _check_direction(direction, "direction", problems)
    problems.raise_if_any("cannot compute a volume-at-threshold value")
    kept, _ = finite_values(values)
    if kept.size == 0:
        return None
    return _count_reaching(kept, float(level), direction) / kept.size


@dataclass(frozen=True, eq=False)
class DVHCurve:
    """A cumulative dose-volume histogram, exact at its levels.

    Attributes
    ----------
    levels : numpy.ndarray, shape (m,)
        Levels in increasing order, in the quantity's unit.
    fractions : numpy.ndarray, shape (m,)
        Fraction of the structure's evaluated voxels reaching each level:
        value >= level for ``direction="higher"`` (non-increasing with the
        level), value <= level for ``"lower"`` (non-decreasing).
    direction : {"higher", "lower"}
    n_voxels : int
        Number of evaluated (non-NaN) voxels the fractions refer to.
    n_nan : int
        Number of voxels excluded as NaN.
    unit : str
        Unit of the levels ("" when unknown).
    label : str
        What the levels are (for plot axes; "" when unknown).

    Notes
    -----
    Between levels the curve is a step function: for ``"higher"`` the
    fraction at a level holds on the interval (previous level, level]; for
    ``"lower"`` on [level, next level).
    """

    levels: np.ndarray
    fractions: np.ndarray
    direction: str = "higher"
    n_voxels: int = 0
    n_nan: int = 0
    unit: str = ""
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (lists of floats) for JSON."""
        return {
            "levels": [_json_float(x) for x in self.levels],
            "fractions": [float(x) for x in self.fractions],
            "direction": self.direction,
            "n_voxels": self.n_voxels,
            "n_nan": self.n_nan,
            "unit": self.unit,
            "label": self.label,
        }


def cumulative_dvh(values: Any, levels: Any = None, *, direction: str = "higher",
                   unit: str = "", label: str = "") -> DVHCurve | None:
    """The cumulative dose-volume histogram of one structure.

    Parameters
    ----------
    values : array_like of real numbers
        Values of the quantity in the structure's voxels (any shape; NaN is
        excluded and counted).
    levels : None, int or array_like of float, optional
        Where to evaluate the histogram. ``None`` (default): every distinct
        non-NaN value, which gives the whole step function exactly. An integer
        m >= 2: m evenly spaced levels from the smallest to the largest
        finite value. An array: those levels (sorted, NaN refused).
    direction : {"higher", "lower"}
        Which way of the quantity means more effect.
    unit, label : str, optional
        Recorded on the curve for plotting.

    Returns
    -------
    DVHCurve or None
        ``None`` when no value is left after removing NaNs.

    Raises
    ------
    InputError
        An integer number of levels < 2; NaN levels; an unknown direction.

    Examples
    --------
    >>> c = cumulative_dvh([1.0, 2.0, 2.0, 4.0])
    >>> c.levels.tolist(), c.fractions.tolist()
    ([1.0, 2.0, 4.0], [1.0, 0.75, 0.25])
    """
    problems = Problems()
    _check_direction(direction, "direction", problems)
    grid_levels = None
    if levels is not None and not isinstance(levels, (int, np.integer)):
        grid_levels = np.asarray(levels, dtype=np.float64).ravel() if _is_real_array(levels) else None
        if problems.check(grid_levels is not None and grid_levels.size > 0, "levels", levels,
                          "None, a number of levels >= 2, or a non-empty array of levels"):
            problems.check(not np.isnan(grid_levels).any(), "levels", levels, "levels that are not NaN")
    elif levels is not None:
        problems.check(levels >= 2, "levels", levels, "a number of levels >= 2")
    problems.raise_if_any("cannot compute a dose-volume histogram")

    kept, n_nan = finite_values(values)
    if kept.size == 0:
        return None
    ascending = np.sort(kept)
    if levels is None:
        grid_levels = np.unique(ascending)
    elif grid_levels is None:
        finite = ascending[np.isfinite(ascending)]
        lo, hi = (finite[0], finite[-1]) if finite.size else (0.0, 0.0)
        grid_levels = np.linspace(lo, hi, int(levels))
    else:
        grid_levels = np.sort(grid_levels)
    n = ascending.size
    if direction == "higher":
        counts = n - np.searchsorted(ascending, grid_levels, side="left")  # values >= level
    else:
        counts = np.searchsorted(ascending, grid_levels, side="right")  # values <= level
    return DVHCurve(grid_levels, counts / n, direction, int(n), n_nan, unit, label)


def quantity_metrics(
    values: Any,
    *,
    direction: str = "higher",
    coverage: Sequence[float] = (0.9, 0.95),
    thresholds: Sequence[float] = (),
    voxel_volume: float | None = None,
) -> dict[str, Any]:
    """Every statistic of one quantity over one structure, as plain data.

    Parameters
    ----------
    values : array_like of real numbers
        Values of the quantity in the structure's voxels (NaN excluded).
    direction : {"higher", "lower"}
        Which way of the quantity means more effect.
    coverage : sequence of float
        Fractions x (0 < x <= 1) for which D_x is reported, under the key
        ``"D<100 x>"`` (``"D90"``, ``"D95"``, ``"D99.5"``).
    thresholds : sequence of float
        Levels for which threshold volumes are reported.
    voxel_volume : float, optional
        Volume of one voxel [m^3]; when given, volumes are reported in mm^3.

    Returns
    -------
    dict
        ``n_voxels`` (all voxels), ``n_nan`` (excluded), ``volume_mm3`` and
        ``evaluated_volume_mm3`` (with ``voxel_volume``), ``min``, ``mean``,
        ``max``, the D_x values, and ``V``: a list of ``{"level",
        "fraction", "volume_mm3"}``, one per threshold, ``fraction`` of the
        evaluated voxels reaching the level. Statistics are ``None`` when
        every value is NaN, and any infinite statistic is ``None``.

    Raises
    ------
    InputError
        Coverage fractions outside (0, 1]; NaN thresholds; an unknown
        direction; a non-positive voxel volume.
    """
    problems = Problems()
    _check_direction(direction, "direction", problems)
    coverage = _as_sequence(coverage)
    thresholds = _as_sequence(thresholds)
    for i, x in enumerate(coverage):
        _check_fraction(x, f"coverage[{i}]", problems)
    for i, level in enumerate(thresholds):
        _check_level(level, f"thresholds[{i}]", problems)
    if voxel_volume is not None:
        problems.positive(voxel_volume, "voxel_volume", "[m^3]")
    problems.raise_if_any("cannot compute structure metrics")
    return _metrics(values, direction, coverage, thresholds, voxel_volume)


# -- evaluation of a run ------------------------------------------------------------
def evaluate(
    result_or_fields: Any,
    structures: Sequence[Structure] | Structure,
    *,
    quantities: Sequence[str] | Mapping[str, Quantity] | None = None,
    thresholds: Mapping[str, float | Sequence[float]] | None = None,
    coverage: Sequence[float] = (0.9, 0.95),
    voxel_volume: float | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Metrics of every quantity over every structure, as a JSON-ready nested dict.

    Parameters
    ----------
    result_or_fields : Result or mapping of str to ndarray
        A :class:`phototherm.Result` (fields, units and voxel volume are taken
        from it) or a mapping of field names to arrays of the grid's shape
        (then ``voxel_volume`` is required).
    structures : Structure or sequence of Structure
        The structures, with distinct names, masks of the fields' shape.
    quantities : sequence of str, or mapping of str to Quantity, optional
        Short names from :data:`QUANTITIES`, or ``{name: Quantity(field, unit,
        direction)}`` for any other field. Default: every quantity of
        :data:`QUANTITIES` whose field is present. A quantity asked for
        explicitly must have its field present.
    thresholds : mapping of str to float or sequence of float, optional
        Threshold levels per quantity short name, in the quantity's unit;
        they replace :data:`DEFAULT_THRESHOLDS` for that quantity. Thresholds
        for quantities not evaluated are ignored; keys that name no known
        quantity are an error.
    coverage : sequence of float
        Fractions x for the D_x values (default D90 and D95).
    voxel_volume : float, optional
        Volume of one voxel [m^3]; required with a mapping of fields; for a
        Result, ``result.grid.cell_volume`` unless given.

    Returns
    -------
    dict
        ``{structure name: {quantity name: metrics}}``, where metrics is
        :func:`quantity_metrics`'s dict plus ``field``, ``unit`` and
        ``direction``, e.g.::

            {"tumour": {"T_max": {"field": "max_temperature_degC", "unit": "degC",
                                  "direction": "higher", "n_voxels": 4169, "n_nan": 0,
                                  "volume_mm3": 521.1, "evaluated_volume_mm3": 521.1,
                                  "min": 44.9, "mean": 51.2, "max": 58.0,
                                  "D90": 46.3, "D95": 45.6,
                                  "V": [{"level": 43.0, "fraction": 1.0, "volume_mm3": 521.1},
                                        {"level": 50.0, "fraction": 0.56, "volume_mm3": 291.8}]}}}

        Only plain dicts, lists, str, int, float and None: ``json.dumps``
        with ``allow_nan=False`` accepts it.

    Raises
    ------
    InputError
        Unknown quantity names; a quantity asked for whose field is missing;
        a unit in the Result that differs from the quantity's; structures
        that are not Structures, share a name, or whose mask shape differs
        from the fields'; bad thresholds, coverage or voxel volume. Every
        problem is reported with its key path.
    """
    problems = Problems()
    fields, units, voxel_volume = _unpack(result_or_fields, voxel_volume, problems)
    structures = check_structures(structures, problems)
    selected = _select_quantities(quantities, fields, problems)
    known = set(QUANTITIES) | (set(map(str, quantities)) if isinstance(quantities, Mapping) else set())
    levels = _select_thresholds(thresholds, known, problems)
    coverage = _as_sequence(coverage)
    for i, x in enumerate(coverage):
        _check_fraction(x, f"coverage[{i}]", problems)
    problems.raise_if_any("cannot evaluate the plan")

    shape = None
    for name, q in selected.items():
        arr = np.asarray(fields[q.field])
        if shape is None:
            shape = arr.shape
        problems.check(arr.shape == shape, f"fields[{q.field!r}].shape", arr.shape, f"the shape {shape}")
        problems.check(arr.dtype.kind in "biuf", f"fields[{q.field!r}].dtype", str(arr.dtype), "real numbers")
        if units is not None and q.field in units:
            problems.check(units[q.field] == q.unit, f"units[{q.field!r}]", units[q.field],
                           f"{q.unit!r}, the unit of quantity {name!r}")
    if shape is not None:
        for s in structures:
            problems.check(s.mask.shape == shape, f"structures[{s.name!r}].mask.shape", s.mask.shape,
                           f"the fields' shape {shape}")
    problems.raise_if_any("cannot evaluate the plan")

    out: dict[str, dict[str, dict[str, Any]]] = {}
    for s in structures:
        per_quantity = {}
        for name, q in selected.items():
            values = np.asarray(fields[q.field])[s.mask]
            entry = {"field": q.field, "unit": q.unit, "direction": q.direction}
            entry.update(_metrics(values, q.direction, coverage, levels.get(name, ()), voxel_volume))
            per_quantity[name] = entry
        out[s.name] = per_quantity
    return out


def dvh_curves(
    result_or_fields: Any,
    structures: Sequence[Structure] | Structure,
    quantity: str | Quantity,
    *,
    levels: Any = None,
) -> dict[str, DVHCurve]:
    """Cumulative DVH of one quantity for each structure (for :func:`phototherm.viz.dvh.plot_dvh`).

    Parameters
    ----------
    result_or_fields : Result or mapping of str to ndarray
        Where the field is read from.
    structures : Structure or sequence of Structure
    quantity : str or Quantity
        A short name from :data:`QUANTITIES` or a :class:`Quantity`.
    levels : None, int or array_like, optional
        As in :func:`cumulative_dvh` (default: every distinct value of each
        structure).

    Returns
    -------
    dict of str to DVHCurve
        By structure name, in the order given; structures whose values are
        all NaN (quantity not modelled there) are left out.

    Raises
    ------
    InputError
        Unknown quantity or missing field; structures that are not
        Structures, share a name or do not match the field's shape.
    """
    problems = Problems()
    fields, _, _ = _unpack(result_or_fields, None, problems, need_volume=False)
    structures = check_structures(structures, problems)
    if isinstance(quantity, Quantity):
        q = quantity
    else:
        q = QUANTITIES.get(quantity) if isinstance(quantity, str) else None
        problems.check(q is not None, "quantity", quantity, f"one of {', '.join(QUANTITIES)} or a Quantity")
    if q is not None and fields is not None:
        problems.check(q.field in fields, "quantity", quantity, f"a quantity whose field {q.field!r} is present "
                       f"(fields: {', '.join(sorted(fields))})")
    problems.raise_if_any("cannot compute dose-volume histograms")
    arr = np.asarray(fields[q.field])
    for s in structures:
        problems.check(s.mask.shape == arr.shape, f"structures[{s.name!r}].mask.shape", s.mask.shape,
                       f"the field's shape {arr.shape}")
    problems.raise_if_any("cannot compute dose-volume histograms")
    curves = {}
    for s in structures:
        curve = cumulative_dvh(arr[s.mask], levels, direction=q.direction, unit=q.unit, label=q.label)
        if curve is not None:
            curves[s.name] = curve
    return curves


# -- internals ----------------------------------------------------------------------
def _metrics(values, direction, coverage, thresholds, voxel_volume) -> dict[str, Any]:
    kept, n_nan = finite_values(values)
    n = kept.size
    mm3 = None if voxel_volume is None else float(voxel_volume) * 1e9
    entry: dict[str, Any] = {
        "n_voxels": n + n_nan,
        "n_nan": n_nan,
        "volume_mm3": None if mm3 is None else (n + n_nan) * mm3,
        "evaluated_volume_mm3": None if mm3 is None else n * mm3,
    }
    ordered = _sorted_by_effect(kept, direction)
    if n:
        with np.errstate(over="ignore", invalid="ignore"):
            mean = float(np.mean(kept))
        entry.update(min=_json_float(ordered.min()), mean=_json_float(mean), max=_json_float(ordered.max()))
    else:
        entry.update(min=None, mean=None, max=None)
    for x in coverage:
        entry[_coverage_key(x)] = _json_float(_dose_at_volume_sorted(ordered, x))
    entry["V"] = []
    for level in thresholds:
        count = _count_reaching(kept, float(level), direction) if n else None
        entry["V"].append({
            "level": float(level),
            "fraction": None if count is None else count / n,
            "volume_mm3": None if count is None or mm3 is None else count * mm3,
        })
    return entry


def _sorted_by_effect(kept: np.ndarray, direction: str) -> np.ndarray:
    """Values ordered from most to least effect."""
    ascending = np.sort(kept)
    return ascending[::-1] if direction == "higher" else ascending


def _dose_at_volume_sorted(ordered: np.ndarray, fraction: float) -> float | None:
    n = ordered.size
    if n == 0:
        return None
    k = math.ceil(float(fraction) * n * (1.0 - _RANK_RTOL))
    return float(ordered[min(max(k, 1), n) - 1])


def _count_reaching(kept: np.ndarray, level: float, direction: str) -> int:
    return int(np.count_nonzero(kept >= level if direction == "higher" else kept <= level))


def _coverage_key(x: float) -> str:
    return f"D{100.0 * float(x):.10g}"


def _json_float(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _as_sequence(values) -> list:
    if values is None:
        return []
    if np.isscalar(values):
        return [values]
    return list(values)


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _is_real_array(x) -> bool:
    try:
        arr = np.asarray(x)
    except Exception:
        return False
    return arr.dtype.kind in "iuf"


def _check_fraction(x, path: str, problems: Problems) -> None:
    problems.check(_is_number(x) and 0.0 < float(x) <= 1.0, path, x, "a fraction x with 0 < x <= 1")


def _check_level(x, path: str, problems: Problems) -> None:
    problems.check(_is_number(x) and not math.isnan(float(x)), path, x, "a threshold level (a number, not NaN)")


def _check_direction(direction, path: str, problems: Problems) -> None:
    problems.check(direction in DIRECTIONS, path, direction, f"one of {', '.join(DIRECTIONS)}")


def _unpack(obj, voxel_volume, problems: Problems, *, need_volume: bool = True):
    """(fields, units or None, voxel volume [m^3]) of a Result or a mapping of fields."""
    if hasattr(obj, "fields") and hasattr(obj, "grid"):
        if voxel_volume is None:
            voxel_volume = obj.grid.cell_volume
        return obj.fields, getattr(obj, "units", None), voxel_volume
    if not problems.check(isinstance(obj, Mapping), "result_or_fields", type(obj).__name__,
                          "a phototherm.Result or a mapping {field name: array}"):
        return None, None, voxel_volume
    if need_volume and problems.check(voxel_volume is not None, "voxel_volume", voxel_volume,
                                      "the volume of one voxel [m^3] (required with a mapping of fields)"):
        problems.positive(voxel_volume, "voxel_volume", "[m^3]")
    return obj, None, voxel_volume


def _select_quantities(quantities, fields, problems: Problems) -> dict[str, Quantity]:
    if fields is None:
        return {}
    if quantities is None:
        return {name: q for name, q in QUANTITIES.items() if q.field in fields}
    if isinstance(quantities, Mapping):
        items = list(quantities.items())
        selected = {}
        for name, q in items:
            path = f"quantities[{name!r}]"
            if problems.check(isinstance(q, Quantity), path, q, "a Quantity(field, unit, direction)"):
                _check_direction(q.direction, f"{path}.direction", problems)
                if problems.check(q.field in fields, f"{path}.field", q.field,
                                  f"a field present in the result ({', '.join(sorted(fields))})"):
                    selected[str(name)] = q
        return selected
    names = [quantities] if isinstance(quantities, str) else list(quantities)
    selected = {}
    for i, name in enumerate(names):
        q = QUANTITIES.get(name) if isinstance(name, str) else None
        if problems.check(q is not None, f"quantities[{i}]", name, f"one of {', '.join(QUANTITIES)}"):
            if problems.check(q.field in fields, f"quantities[{i}]", name,
                              f"a quantity whose field {q.field!r} is present "
                              f"(fields: {', '.join(sorted(fields))})"):
                selected[name] = q
    return selected


def _select_thresholds(thresholds, known: set, problems: Problems) -> dict[str, list[float]]:
    levels = {name: list(v) for name, v in DEFAULT_THRESHOLDS.items()}
    if thresholds is None:
        return levels
    if not problems.check(isinstance(thresholds, Mapping), "thresholds", thresholds,
                          "a mapping {quantity name: level or list of levels}"):
        return levels
    for name, value in thresholds.items():
        if not problems.check(name in known, f"thresholds[{name!r}]", name,
                              f"the name of a quantity ({', '.join(sorted(known))})"):
            continue
        values = _as_sequence(value)
        for i, level in enumerate(values):
            _check_level(level, f"thresholds[{name!r}][{i}]", problems)
        levels[name] = values
    return levels
