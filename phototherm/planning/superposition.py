"""Temperature histories of a plan by superposing unit step responses.

The planner exploits the linearity of the Pennes equation. This module
computes, once, the response of a model to each of its heat sources and then
predicts the temperature history, and from it the thermal dose, of any
combination of source powers and on/off times without running the solver
again.

What is exact, and when
-----------------------
With constant properties the discrete heat balance of every stepper
(explicit, backward Euler, Crank-Nicolson) is linear and time-invariant: one
step of length dt is

    T^{n+1} = A T^n + c + sum_s m_s^n B q_s,

with A, B and c fixed matrices and vector (conduction, perfusion, boundaries,
metabolic heat), q_s the map of source s at schedule level 1 and m_s^n the
mean of its schedule over step n (the engine's rule). Hence

    T^n = T_base^n + sum_s sum_{k<n} m_s^k A^{n-1-k} B q_s,

where T_base is the run without heat sources. Let U_s^n = sum_{k<n}
A^{n-1-k} B q_s be the *unit step response* of source s: the increment over
T_base when the source is on at its nominal level from t = 0 to the end of the
horizon (U_s^n = 0 for n <= 0). A source at level l on over [t_on, t_off),
both on step boundaries (t_on = j dt, t_off = j' dt), contributes exactly
l (U_s^{n-j} - U_s^{n-j'}); a schedule made of such on/off intervals (one
exposure, or fractions: pulses) contributes the sum over its intervals, and
scaling a source's power by a scales its contribution by a. So

    T(t) = T_base(t) + sum_s a_s sum_i l_i [U_s(t - t_on,i) - U_s(t - t_off,i)]

holds to rounding (explicit stepper) or to the conjugate-gradient tolerance
(implicit steppers) at every step. :class:`UnitResponses` computes T_base and
every U_s with N + 1 simulations (N sources) on one fixed step ``dt`` and keeps
them at every ``record_every``-th step, at the voxels of the structures only;
switching times must therefore be multiples of the recording interval
``tau = record_every * dt`` (or lie beyond the horizon).

The doses are not linear in T, but they are computed exactly from the
superposed history: T_max is the largest sample, CEM43 and Omega are
integrated between consecutive samples with
:func:`~phototherm.dose.cem43_increment` and
:func:`~phototherm.dose.arrhenius_increment`, which assume T linear in time
over the interval, exactly as the simulation accumulates them over each step.
With ``record_every = 1`` the predicted T_max, CEM43 and Omega therefore equal
those of a full simulation to rounding; with ``record_every > 1`` T_max is the
largest *sampled* value (a lower bound of the simulated one) and the doses
approximate the simulation's by a piecewise-linear history between samples.
Fluence (laser sources) is linear in power and on-time and is computed
exactly.

Where it does not hold
----------------------
* **Vascular shutdown** (``model.vascular_shutdown``): perfusion depends on
  the dose reached, so the equation is nonlinear; :class:`UnitResponses`
  refuses such a model. Plan with the linear model and check the plan with a
  full simulation of the nonlinear one (:func:`phototherm.planning.optimise.confirm`).
* **Temperature- or damage-dependent properties or optics** (perfusion laws
  such as Lang et al., coagulation changing scattering): not modelled by the
  engine today; any such model breaks the superposition in the same way.
* **Photodynamic therapy** is not linear in light (oxygen depletion,
  photobleaching), so its quantities are *not* superposed. They are computed
  exactly instead, by integrating the PDT kinetics
  (:func:`phototherm.pdt.kinetics.advance`) at the recorded voxels only,
  driven by the plan's fluence rate there, ``sum_s a_s l_s(t) phi_s(x)``
  (fluence is linear in power). This is exact because, without oxygen
  diffusion, every voxel's kinetics depend on its own light alone and not on
  temperature: a plan's [1O2]rx, PDT dose and surviving fractions equal those
  of the full simulation to the kinetics tolerance. With oxygen diffusion the
  voxels are coupled and :meth:`UnitResponses.compute` refuses the therapy.
  The kinetics cost about ``V K`` voxel updates per plan (fewer: intervals of
  equal light are integrated in one adaptive step).
* Ramped schedules and switching times off the recording grid are refused
  (the step response of a ramp is not built here).

Memory
------
The responses hold ``(N + 1) (K + 1) V`` numbers, with N sources, K + 1
samples (K = steps / record_every) and V recorded voxels, each of
``record_dtype`` (8 bytes in float64, 4 in float32); evaluating a plan needs
one more history of ``(K + 1) V`` float64 numbers. :meth:`UnitResponses.compute`
refuses, before running anything, when the sum exceeds ``memory_limit``
(default :data:`DEFAULT_MEMORY_LIMIT`, 2 GiB).

Examples
--------
>>> import numpy as np
>>> import phototherm as pt
>>> from phototherm.planning import Structure
>>> from phototherm.planning.superposition import UnitResponses
>>> grid = pt.Grid((10, 10, 10), 1e-3)
>>> source = pt.gaussian_heat_source(grid, (5e-3, 5e-3, 5e-3), 1.5e-3, total_power=0.05)
>>> model = pt.PennesModel(grid, pt.ThermalProperties.uniform(grid, pt.tissues.thermal_tissue("muscle")),
...                        heat_sources=[source], boundaries=pt.BoundaryConditions(default=pt.FixedTemperature(37.0)))
>>> centre = np.zeros(grid.shape, bool); centre[4:6, 4:6, 4:6] = True
>>> responses = UnitResponses.compute(model, [Structure("centre", centre)], horizon=60.0, device="cpu")
>>> dose = responses.evaluate(powers=[0.1], on_intervals=[[(0.0, 30.0)]])  # twice the power, 30 s on
>>> bool(dose.values["T_max"].max() > 37.0)
True
"""

from __future__ import annotations

import dataclasses
import math
import time as _time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..backend import resolve_backend, to_host
from ..dose import arrhenius_increment, cem43_increment, combined_surviving_fraction
from ..errors import InputError, Problem, Problems
from ..progress import ProgressBar
from ..schedule import PowerSchedule
from .metrics import QUANTITIES, evaluate
from .structures import Structure, check_structures

__all__ = [
    "UnitResponses",
    "SuperposedDose",
    "SUPERPOSED_QUANTITIES",
    "NONLINEAR_QUANTITIES",
    "DEFAULT_MEMORY_LIMIT",
    "check_linear",
    "nominal_power",
    "intervals_from_schedule",
    "with_sources",
]

#: Quantities (short names of :data:`phototherm.planning.QUANTITIES`) predicted by superposition.
SUPERPOSED_QUANTITIES = ("T_max", "CEM43", "Omega", "thermal_survival", "fluence")
#: Photodynamic quantities: nonlinear in light, computed by integrating the kinetics at the
#: recorded voxels (only when :meth:`UnitResponses.compute` is given the therapy).
NONLINEAR_QUANTITIES = ("1O2rx", "pdt_dose", "pdt_survival", "survival")
#: Default limit on the memory of the recorded responses plus one evaluated history [bytes].
DEFAULT_MEMORY_LIMIT = 2 * 1024**3
#: Relative tolerance with which a switching time must fall on the recording grid.
_GRID_RTOL = 1e-6
#: Samples x voxels per block when integrating the dose (bounds temporaries to ~8 MiB each).
_BLOCK_ELEMENTS = 1 << 20
_EXPLICIT_SAFETY = 0.95
_IMPLICIT_MULTIPLE = 10.0


def check_linear(model, path: str = "model", problems: Problems | None = None) -> None:
    """Refuse a model for which superposition does not hold.

    Parameters
    ----------
    model : PennesModel
    path : str
        Key path of the model in error messages.
    problems : Problems, optional
        Collector to add to; when omitted, an :class:`InputError` is raised here.

    Raises
    ------
    InputError
        The model has vascular shutdown (dose-dependent perfusion).
    """
    own = problems is None
    problems = Problems() if own else problems
    problems.check(
        getattr(model, "vascular_shutdown", None) is None, f"{path}.vascular_shutdown",
        getattr(model, "vascular_shutdown", None),
        "None: perfusion that collapses with dose makes the bioheat equation nonlinear, so unit responses "
        "cannot be superposed; plan on the model without shutdown and check the plan with "
        "phototherm.planning.optimise.confirm on the model with it")
    if own:
        problems.raise_if_any("superposition needs a linear model")


def nominal_power(source, grid) -> float:
    """The power [W] of a heat source at schedule level 1, as the planner counts it.

    A laser source (:class:`~phototherm.light.LaserHeatSource`) counts the
    power its light source *emits*; any other heat source the power it
    *deposits* in the grid (:meth:`~phototherm.heating.HeatSource.total_power`).
    """
    light = getattr(source, "light", None)
    if isinstance(light, Mapping):
        emitted = light.get("source", {}).get("power_W") if isinstance(light.get("source"), Mapping) else None
        if isinstance(emitted, (int, float)) and math.isfinite(emitted) and emitted > 0:
            return float(emitted)
    return float(source.total_power(grid))


def intervals_from_schedule(schedule: PowerSchedule, interval: float, horizon: float,
                            path: str = "schedule", problems: Problems | None = None) -> list[tuple[float, float, float]]:
    """A piecewise-constant schedule as ``(start, stop, level)`` on-intervals.

    Parameters
    ----------
    schedule : PowerSchedule
    interval : float
        Recording interval tau [s]; every start and stop before ``horizon``
        must be a multiple of it.
    horizon : float
        End of the responses [s]; segments starting at or after it are dropped.
    path : str
        Key path in error messages.
    problems : Problems, optional
        Collector; when omitted an :class:`InputError` is raised here.

    Returns
    -------
    list of (float, float, float)
        ``(start [s], stop [s], level)``; ``stop`` may be ``inf``.

    Raises
    ------
    InputError
        A ramp (a segment whose level changes), or a switching time off the grid.
    """
    own = problems is None
    problems = Problems() if own else problems
    out = []
    for i, s in enumerate(schedule.segments):
        if s.start >= horizon or s.level_start == s.level_stop == 0.0:
            continue
        ok = problems.check(s.level_start == s.level_stop, f"{path}.segments[{i}]", s,
                            "a constant segment (ramps have no step-response superposition; "
                            "give on_intervals explicitly)")
        ok &= problems.check(_on_grid(s.start, interval), f"{path}.segments[{i}].start", s.start,
                             f"a multiple of the recording interval {interval:.6g} s")
        if s.stop < horizon:
            ok &= problems.check(_on_grid(s.stop, interval), f"{path}.segments[{i}].stop", s.stop,
                                 f"a multiple of the recording interval {interval:.6g} s, or >= the horizon")
        if ok:
            out.append((float(s.start), float(s.stop), float(s.level_start)))
    if own:
        problems.raise_if_any("schedule cannot be superposed")
    return out


@dataclass(frozen=True, eq=False)
class SuperposedDose:
    """The dose of one plan predicted by superposition, at the recorded voxels.

    Attributes
    ----------
    responses : UnitResponses
        Where it came from.
    powers : tuple of float
        Power of each source [W].
    scales : tuple of float
        Power over nominal power of each source.
    on_intervals : tuple of tuple of (float, float, float)
        ``(start [s], stop [s], level)`` of each source.
    values : dict of str to ndarray
        Per recorded voxel (columns of the responses), by quantity short name:
        ``T_max`` [degC], ``CEM43`` [min], ``Omega`` (NaN where the tissue has
        no Arrhenius pair), ``thermal_survival`` (``exp(-Omega)``),
        ``fluence`` [J/m^2] (laser sources only), as asked for.
    history : ndarray or None
        The temperature history ``(samples, voxels)`` [degC] when kept.
    """

    responses: "UnitResponses"
    powers: tuple
    scales: tuple
    on_intervals: tuple
    values: dict
    history: np.ndarray | None = field(default=None, repr=False)

    def structure_values(self, structure: str, quantity: str) -> np.ndarray:
        """Values of ``quantity`` in the voxels of the named structure."""
        return self.values[quantity][self.responses.columns(structure)]

    def fields(self) -> dict[str, np.ndarray]:
        """Full-grid fields named as in :class:`~phototherm.Result` (NaN where not recorded)."""
        grid = self.responses.model.grid
        out = {}
        for name, v in self.values.items():
            full = np.full(grid.size, np.nan)
            full[self.responses.voxels] = v
            out[QUANTITIES[name].field] = full.reshape(grid.shape)
        return out

    def metrics(self, structures: Sequence[Structure] | None = None, **options) -> dict:
        """:func:`phototherm.planning.evaluate` of the predicted quantities.

        Parameters
        ----------
        structures : sequence of Structure, optional
            Default: the structures the responses were recorded for.
        **options
            ``thresholds``, ``coverage`` as in :func:`~phototherm.planning.evaluate`.
        """
        structures = list(self.responses.structures if structures is None else structures)
        return evaluate(self.fields(), structures, quantities=list(self.values),
                        voxel_volume=self.responses.model.grid.cell_volume, **options)


class UnitResponses:
    """Baseline and unit step response of every heat source of a linear model.

    Build with :meth:`compute`. Attributes are read-only by convention.

    Attributes
    ----------
    model : PennesModel
        The model (its sources at nominal power; their own schedules are the
        default plan).
    structures : tuple of Structure
        Structures whose voxels are recorded.
    voxels : ndarray of int
        Flat grid indices of the recorded voxels (sorted): the columns.
    horizon : float
        End of the recorded runs [s].
    dt : float
        Time step of every run [s].
    steps : int
        Steps per run (a multiple of ``record_every``).
    record_every : int
        Steps between samples.
    interval : float
        Recording interval ``tau = record_every * dt`` [s].
    times : ndarray, shape (K + 1,)
        Sample times ``k tau`` [s].
    baseline : ndarray, shape (K + 1, V)
        Temperature without heat sources [degC].
    responses : ndarray, shape (N, K + 1, V)
        Unit step response of each source: increment over the baseline with the
        source on at schedule level 1 from t = 0 [K].
    source_names : tuple of str
    nominal_powers : tuple of float
        Power of each source at level 1 [W] (see :func:`nominal_power`).
    fluence_rates : list of ndarray or None
        Fluence rate at level 1 at the recorded voxels [W/m^2] (laser sources).
    stepper, device, dtype, rtol, num_threads
        Simulation settings, reused by :func:`~phototherm.planning.optimise.confirm`.
    simulations : int
        Number of full simulations run (N + 1).
    wall_time : float
        Time spent computing [s].
    """

    #: Photodynamic therapy at the recorded voxels (None: thermal and light quantities only).
    photodynamic = None

    def __init__(self, **attributes: Any):
        for name, value in attributes.items():
            setattr(self, name, value)
        self._columns: dict[str, np.ndarray] = {}

    # -- construction ------------------------------------------------------------------
    @classmethod
    def compute(
        cls,
        model,
        structures: Structure | Sequence[Structure],
        *,
        horizon: float,
        dt: float | None = None,
        stepper: str = "explicit",
        record_every: int = 1,
        mask: np.ndarray | None = None,
        record_dtype: str = "float64",
        memory_limit: float = DEFAULT_MEMORY_LIMIT,
        device: str | None = None,
        dtype=None,
        rtol: float | None = None,
        num_threads: int | None = None,
        progress: bool | None = None,
        photodynamic=None,
    ) -> "UnitResponses":
        """Run the baseline and one step response per source, recording the structures' voxels.

        Parameters
        ----------
        model : PennesModel
            A linear model (no vascular shutdown) with at least one heat source.
        structures : Structure or sequence of Structure
            Structures the plan is judged on (distinct names, grid shape); the
            union of their voxels is recorded.
        horizon : float
            Simulated time of every run [s]; exposure plus the cooling that
            should count in the dose.
        dt : float, optional
            Largest time step [s]; it is shortened so a whole number of steps,
            multiple of ``record_every``, ends exactly at ``horizon`` (a
            ``dt`` dividing the horizon is kept as it is). Default: the largest
            round step (1, 2, 2.5 or 5 times a power of ten) dividing the
            horizon within a factor 4 below 0.95 of the explicit stability
            limit (explicit) or 10 times it (implicit), so that round
            switching times fall on the recording grid; failing that, the
            largest step below that bound.
        stepper : {"explicit", "backward-euler", "crank-nicolson"}
        record_every : int
            Steps between recorded samples (1: every step, exact doses).
        mask : ndarray of bool, optional
            Extra voxels to record.
        record_dtype : {"float64", "float32"}
            Storage type of the recorded responses.
        memory_limit : float
            Largest memory for responses plus one evaluated history [bytes].
        device, dtype, rtol, num_threads
            As for :class:`~phototherm.Simulation`.
        progress : bool or None
            Progress bar over all runs (None: shown after 2 s).
        photodynamic : PhotodynamicTherapy, optional
            The PDT of the model (without oxygen diffusion): each of its
            light fields must belong to the heat source of the same name. Plans
            then also predict [1O2]rx, PDT dose and (with its survival model)
            the PDT and combined surviving fractions, by integrating the
            kinetics at the recorded voxels.

        Returns
        -------
        UnitResponses

        Raises
        ------
        InputError
            A nonlinear model (vascular shutdown), no heat source, a source of
            zero power, bad structures, horizon, record settings, or a memory
            need above ``memory_limit`` (the formula and the numbers are in
            the message).
        """
        from ..bioheat import PennesModel
        from ..simulation import STEPPERS

        problems = Problems()
        if not problems.check(isinstance(model, PennesModel), "model", type(model).__name__, "a PennesModel"):
            problems.raise_if_any("cannot compute unit responses")
        check_linear(model, "model", problems)
        grid = model.grid
        problems.check(len(model.heat_sources) > 0, "model.heat_sources", list(model.heat_sources),
                       "at least one heat source")
        nominal = []
        for i, s in enumerate(model.heat_sources):
            p = nominal_power(s, grid)
            nominal.append(p)
            problems.check(p > 0, f"model.heat_sources[{i}]({s.name})", p,
                           "a source depositing positive power at schedule level 1 [W]")
        structures = check_structures(structures, problems, grid.shape)
        problems.positive(horizon, "horizon", "[s]")
        if dt is not None:
            problems.positive(dt, "dt", "[s]")
        problems.check(isinstance(stepper, str) and stepper in STEPPERS, "stepper", stepper,
                       f"one of {', '.join(STEPPERS)}")
        problems.check(isinstance(record_every, (int, np.integer)) and not isinstance(record_every, bool)
                       and record_every >= 1, "record_every", record_every, "a whole number of steps >= 1")
        problems.check(record_dtype in ("float32", "float64"), "record_dtype", record_dtype, "float32 or float64")
        problems.positive(memory_limit, "memory_limit", "[bytes]")
        if mask is not None:
            m = np.asarray(mask)
            problems.check(m.dtype == np.bool_ and m.shape == grid.shape, "mask", mask,
                           f"a bool array of shape {grid.shape}")
        if photodynamic is not None:
            _check_photodynamic(photodynamic, model, problems)
        problems.raise_if_any("cannot compute unit responses")

        recorded = np.zeros(grid.shape, dtype=bool)
        for s in structures:
            recorded |= s.mask
        if mask is not None:
            recorded |= np.asarray(mask)
        voxels = np.flatnonzero(recorded)
        record_every = int(record_every)

        # one fixed step for every run: a whole number of steps, multiple of record_every
        limit = model.stability_limit().dt
        target = dt if dt is not None else (
            _EXPLICIT_SAFETY * limit if stepper == "explicit" else _IMPLICIT_MULTIPLE * limit)
        steps = _choose_steps(float(horizon), min(target, float(horizon)), record_every, round_step=dt is None)
        step = float(horizon) / steps
        samples = steps // record_every + 1
        itemsize = np.dtype(record_dtype).itemsize
        n_sources = len(model.heat_sources)
        need = (n_sources + 1) * samples * voxels.size * itemsize + samples * voxels.size * 8
        if need > memory_limit:
            raise InputError("unit responses would not fit in memory", [Problem(
                "memory_limit", memory_limit,
                f">= {need:.4g} bytes = (N + 1) (K + 1) V b + (K + 1) V 8 with N = {n_sources} sources, "
                f"K + 1 = {samples} samples, V = {voxels.size} voxels, b = {itemsize} ({record_dtype}); "
                "record fewer samples (record_every), fewer voxels (smaller structures), use float32, "
                "or raise memory_limit")])

        started = _time.perf_counter()
        backend = resolve_backend(device, dtype)
        runs = [("baseline", None)] + [(s.name, s) for s in model.heat_sources]
        records = []
        settings = dict(stepper=stepper, device=backend.name, dtype=backend.dtype.name, rtol=rtol,
                        num_threads=num_threads)
        with ProgressBar(len(runs) * steps, unit="step", description="unit responses",
                         show=progress) as bar:
            for name, source in runs:
                sources = [] if source is None else [dataclasses.replace(source, schedule=PowerSchedule.constant())]
                run_model = with_sources(model, sources)
                records.append(_record_run(run_model, horizon, step, steps, record_every, voxels, settings, bar))
        base = records[0]
        responses = np.empty((n_sources, samples, voxels.size), dtype=record_dtype)
        for i, rec in enumerate(records[1:]):
            np.subtract(rec, base, out=responses[i], casting="unsafe")
        coefficients = model.coefficients

        def flat(a):
            return np.asarray(a).reshape(-1)[voxels]

        fluence = []
        for s in model.heat_sources:
            rate = getattr(s, "fluence_rate", None)
            fluence.append(None if rate is None else np.asarray(flat(rate), dtype=np.float64))
        return cls(
            photodynamic=None if photodynamic is None else _RecordedTherapy.at(photodynamic, model, flat, voxels.size),
            model=model,
            structures=tuple(structures),
            voxels=voxels,
            horizon=float(horizon),
            dt=step,
            steps=steps,
            record_every=record_every,
            interval=step * record_every,
            times=np.arange(samples) * (step * record_every),
            baseline=base.astype(record_dtype, copy=False),
            responses=responses,
            source_names=tuple(s.name for s in model.heat_sources),
            nominal_powers=tuple(nominal),
            fluence_rates=fluence,
            has_damage_model=flat(model.properties.has_damage_model).astype(bool),
            ln_A=flat(coefficients.ln_A).astype(np.float64),
            Ea_over_R=flat(coefficients.Ea_over_R).astype(np.float64),
            simulations=len(runs),
            wall_time=_time.perf_counter() - started,
            **settings,
        )

    # -- sizes and lookups ------------------------------------------------------------------
    @property
    def n_sources(self) -> int:
        return len(self.source_names)

    @property
    def n_samples(self) -> int:
        return self.times.size

    @property
    def nbytes(self) -> int:
        """Memory held by the recorded responses [bytes]."""
        return int(self.baseline.nbytes + self.responses.nbytes)

    @property
    def structure_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.structures)

    def structure(self, name: str) -> Structure:
        """The recorded structure called ``name``."""
        for s in self.structures:
            if s.name == name:
                return s
        raise InputError("unknown structure", [Problem("structure", name, f"one of {', '.join(self.structure_names)}")])

    def columns(self, name: str) -> np.ndarray:
        """Column indices (into the recorded voxels) of the named structure."""
        if name not in self._columns:
            flat = np.flatnonzero(self.structure(name).mask)
            self._columns[name] = np.searchsorted(self.voxels, flat)
        return self._columns[name]

    def available_quantities(self) -> tuple[str, ...]:
        """Quantity short names this object can predict (fluence only with laser sources; PDT
        quantities only with the therapy, the survival ones only with its survival model)."""
        q = ["T_max", "CEM43", "Omega", "thermal_survival"]
        if any(f is not None for f in self.fluence_rates):
            q.append("fluence")
        if self.photodynamic is not None:
            q += ["1O2rx", "pdt_dose"]
            if self.photodynamic.d0 is not None:
                q += ["pdt_survival", "survival"]
        return tuple(q)

    def default_on_intervals(self) -> list[list[tuple[float, float, float]]]:
        """Each source's own schedule as on-intervals (see :func:`intervals_from_schedule`)."""
        problems = Problems()
        out = [intervals_from_schedule(s.schedule, self.interval, self.horizon,
                                       f"model.heat_sources[{i}]({s.name}).schedule", problems)
               for i, s in enumerate(self.model.heat_sources)]
        problems.raise_if_any("the model's schedules cannot be superposed")
        return out

    def describe(self) -> dict:
        """Settings and sizes as plain data."""
        return {
            "horizon_s": self.horizon, "dt_s": self.dt, "steps": self.steps, "record_every": self.record_every,
            "recording_interval_s": self.interval, "samples": self.n_samples, "voxels": int(self.voxels.size),
            "sources": list(self.source_names), "nominal_powers_W": list(self.nominal_powers),
            "stepper": self.stepper, "device": self.device, "dtype": self.dtype,
            "record_dtype": self.responses.dtype.name, "bytes": self.nbytes, "simulations": self.simulations,
            "wall_time_s": self.wall_time,
        }

    # -- prediction ------------------------------------------------------------------------
    def resolve(self, powers=None, on_intervals=None, *, path: str = "") -> tuple[tuple, tuple]:
        """Validated ``(scales, intervals)``; intervals as ``(j_on, j_off or None, level)`` sample indices.

        Parameters
        ----------
        powers : sequence of float or mapping of str to float, optional
            Power of each source [W] (by order, or by source name); default
            the nominal powers.
        on_intervals : sequence (one per source) of sequences of (start, stop[, level]), optional
            On-intervals [s]; default the sources' own schedules.
        path : str
            Prefix of key paths in error messages.
        """
        problems = Problems()
        n = self.n_sources
        if powers is None:
            values = list(self.nominal_powers)
        elif isinstance(powers, Mapping):
            values = list(self.nominal_powers)
            for key, value in powers.items():
                if problems.check(key in self.source_names, f"{path}powers[{key!r}]", key,
                                  f"a source name ({', '.join(self.source_names)})"):
                    values[self.source_names.index(key)] = value
        else:
            values = list(np.ravel(np.asarray(powers, dtype=object))) if np.ndim(powers) else [powers]
            problems.check(len(values) == n, f"{path}powers", powers, f"{n} powers [W], one per source")
        for i, v in enumerate(values[:n]):
            problems.non_negative(v, f"{path}powers[{i}]", "[W]")
        if on_intervals is None:
            raw = self.default_on_intervals()
        else:
            raw = on_intervals
            if not problems.check(isinstance(raw, (list, tuple)) and len(raw) == n, f"{path}on_intervals",
                                  on_intervals, f"a list of {n} lists of (start, stop[, level]) [s], one per source"):
                raw = [[] for _ in range(n)]
        intervals = []
        tau, K = self.interval, self.n_samples - 1
        for s, src in enumerate(raw):
            here = []
            if not problems.check(isinstance(src, (list, tuple)), f"{path}on_intervals[{s}]", src,
                                  "a list of (start, stop[, level]) [s]"):
                intervals.append(here)
                continue
            for i, item in enumerate(src):
                p = f"{path}on_intervals[{s}][{i}]"
                try:
                    start, stop, *rest = (float(x) for x in item)
                    level = rest[0] if rest else 1.0
                    ok = len(rest) <= 1
                except (TypeError, ValueError):
                    ok = False
                if not problems.check(ok, p, item, "(start, stop) or (start, stop, level) [s, s, 1]"):
                    continue
                good = problems.check(math.isfinite(start) and start >= 0 and _on_grid(start, tau), f"{p}.start",
                                      start, f"a time >= 0 that is a multiple of the recording interval {tau:.6g} s")
                good &= problems.check(stop > start and (stop >= self.horizon or _on_grid(stop, tau)), f"{p}.stop",
                                       stop, f"a time after start that is a multiple of {tau:.6g} s or >= the horizon "
                                       f"{self.horizon:g} s")
                good &= problems.check(math.isfinite(level) and level >= 0, f"{p}.level", level, "a level >= 0")
                if good and start < self.horizon:
                    j_on = int(round(start / tau))
                    j_off = None if stop >= self.horizon else int(round(stop / tau))
                    here.append((j_on, j_off if j_off is None or j_off <= K else None, level))
            intervals.append(here)
        problems.raise_if_any("invalid plan for superposition")
        scales = tuple(float(v) / p for v, p in zip(values, self.nominal_powers))
        return scales, tuple(tuple(x) for x in intervals)

    def temperature_history(self, powers=None, on_intervals=None) -> tuple[np.ndarray, np.ndarray]:
        """Superposed temperature at every sample and recorded voxel.

        Parameters
        ----------
        powers : sequence of float or mapping of str to float, optional
            Power of each source [W]; default nominal.
        on_intervals : sequence of sequences of (start, stop[, level]), optional
            Each source's on-intervals [s] (multiples of :attr:`interval`, stop
            may be at or beyond the horizon); default the model's schedules.

        Returns
        -------
        times : ndarray, shape (K + 1,)
            [s]
        T : ndarray, shape (K + 1, V), float64
            Temperature [degC]; columns are :attr:`voxels`.
        """
        scales, intervals = self.resolve(powers, on_intervals)
        return self.times, self._history(scales, intervals)

    def _history(self, scales, intervals) -> np.ndarray:
        T = self.baseline.astype(np.float64, copy=True)
        K1 = self.n_samples
        for s, (a, ivs) in enumerate(zip(scales, intervals)):
            R = self.responses[s]
            for j_on, j_off, level in ivs:
                c = a * level
                if c == 0.0:
                    continue
                T[j_on:] += c * R[:K1 - j_on].astype(np.float64, copy=False)
                if j_off is not None:
                    T[j_off:] -= c * R[:K1 - j_off].astype(np.float64, copy=False)
        return T

    def evaluate(self, powers=None, on_intervals=None, *, quantities: Sequence[str] | None = None,
                 keep_history: bool = False) -> SuperposedDose:
        """Predicted T_max, CEM43, Omega (and fluence) of a plan at the recorded voxels.

        Parameters
        ----------
        powers, on_intervals
            As for :meth:`temperature_history`.
        quantities : sequence of str, optional
            Which of :meth:`available_quantities` to compute (default all).
        keep_history : bool
            Keep the temperature history on the result.

        Returns
        -------
        SuperposedDose

        Raises
        ------
        InputError
            Bad powers or intervals; unknown quantities, or photodynamic ones
            (nonlinear in light: they need full simulations).
        """
        wanted = self._check_quantities(quantities)
        scales, intervals = self.resolve(powers, on_intervals)
        return self._evaluate(scales, intervals, wanted, keep_history)

    def _check_quantities(self, quantities) -> tuple[str, ...]:
        available = self.available_quantities()
        if quantities is None:
            return available
        problems = Problems()
        names = [quantities] if isinstance(quantities, str) else list(quantities)
        for i, q in enumerate(names):
            if q in NONLINEAR_QUANTITIES and q not in available:
                problems.add(f"quantities[{i}]", q, "a quantity of these responses: photodynamic quantities need "
                             "UnitResponses.compute(..., photodynamic=therapy)"
                             + (" with a survival model" if "1O2rx" in available else ""))
            else:
                problems.check(q in available, f"quantities[{i}]", q, f"one of {', '.join(available)}")
        problems.raise_if_any("cannot predict these quantities by superposition")
        return tuple(dict.fromkeys(names))

    def subset(self, names: Sequence[str]) -> "UnitResponses":
        """The same responses restricted to the voxels of the named structures (copies)."""
        keep = np.unique(np.concatenate([self.columns(n) for n in names]))
        attributes = dict(vars(self))
        attributes.pop("_columns")
        attributes.update(
            structures=tuple(self.structure(n) for n in dict.fromkeys(names)),
            voxels=self.voxels[keep], baseline=self.baseline[:, keep], responses=self.responses[:, :, keep],
            fluence_rates=[None if f is None else f[keep] for f in self.fluence_rates],
            has_damage_model=self.has_damage_model[keep], ln_A=self.ln_A[keep], Ea_over_R=self.Ea_over_R[keep],
            photodynamic=None if self.photodynamic is None else self.photodynamic.subset(keep),
        )
        return UnitResponses(**attributes)

    def _evaluate(self, scales, intervals, wanted, keep_history=False, columns=None) -> SuperposedDose:
        """The dose of a validated plan; ``columns`` optionally limits each quantity to some columns
        (the others are NaN)."""
        values: dict[str, np.ndarray] = {}
        thermal = [q for q in wanted if q not in ("fluence", "1O2rx", "pdt_dose", "pdt_survival")]
        T = self._history(scales, intervals) if thermal else None
        n = self.voxels.size

        def on(q, compute):
            cols = None if columns is None else columns.get(q)
            if cols is None or cols.size == n:
                return compute(T)
            out = np.full(n, np.nan)
            out[cols] = compute(T[:, cols], cols)
            return out

        if "T_max" in wanted:
            values["T_max"] = on("T_max", lambda T, cols=None: T.max(axis=0))
        if "CEM43" in wanted:
            values["CEM43"] = on("CEM43", lambda T, cols=None: self._integrate(
                T, lambda a, b: cem43_increment(a, b, self.interval)))
        if "Omega" in wanted or "thermal_survival" in wanted or "survival" in wanted:
            def omega_of(T, cols=None):
                damaged = self.has_damage_model if cols is None else self.has_damage_model[cols]
                ln_A = self.ln_A if cols is None else self.ln_A[cols]
                ea = self.Ea_over_R if cols is None else self.Ea_over_R[cols]
                omega = np.full(T.shape[1], np.nan)
                if damaged.any():
                    ln_A, ea = ln_A[damaged], ea[damaged]
                    omega[damaged] = self._integrate(
                        T[:, damaged], lambda a, b: arrhenius_increment(a, b, self.interval, ln_A, ea))
                return omega

            if "Omega" in wanted:
                values["Omega"] = on("Omega", omega_of)
            if "thermal_survival" in wanted or "survival" in wanted:
                thermal_survival = np.exp(-on("thermal_survival", omega_of))
                if "thermal_survival" in wanted:
                    values["thermal_survival"] = thermal_survival
        pdt_wanted = [q for q in ("1O2rx", "pdt_dose", "pdt_survival", "survival") if q in wanted]
        if pdt_wanted:
            cols = None
            if columns is not None:
                parts = [columns.get(q) for q in pdt_wanted]
                cols = None if any(c is None for c in parts) else np.unique(np.concatenate(parts))
            pdt = self.photodynamic.evaluate(scales, intervals, self.interval, self.n_samples - 1, cols)
            values.update({q: pdt[q] for q in ("1O2rx", "pdt_dose", "pdt_survival") if q in wanted})
            if "survival" in wanted:
                values["survival"] = combined_surviving_fraction(thermal_survival, pdt["pdt_survival"])
        if "fluence" in wanted:
            fluence = np.zeros(self.voxels.size)
            for a, ivs, rate in zip(scales, intervals, self.fluence_rates):
                if rate is None:
                    continue
                on_time = sum(level * ((self.horizon if j_off is None else j_off * self.interval) - j_on * self.interval)
                              for j_on, j_off, level in ivs)
                fluence += a * on_time * rate
            values["fluence"] = fluence
        # keep the caller's order
        values = {q: values[q] for q in wanted}
        powers = tuple(a * p for a, p in zip(scales, self.nominal_powers))
        tau = self.interval
        readable = tuple(tuple((j_on * tau, math.inf if j_off is None else j_off * tau, level)
                               for j_on, j_off, level in ivs) for ivs in intervals)
        return SuperposedDose(self, powers, tuple(scales), readable, values, T if keep_history else None)

    def _integrate(self, T: np.ndarray, increment) -> np.ndarray:
        """Sum of ``increment(T[k], T[k + 1])`` over samples, in blocks."""
        total = np.zeros(T.shape[1])
        block = max(1, _BLOCK_ELEMENTS // max(1, T.shape[1]))
        for k0 in range(0, T.shape[0] - 1, block):
            k1 = min(T.shape[0] - 1, k0 + block)
            total += increment(T[k0:k1], T[k0 + 1:k1 + 1]).sum(axis=0)
        return total


# -- helpers -----------------------------------------------------------------------------
def _choose_steps(horizon: float, target: float, record_every: int, round_step: bool) -> int:
    """Steps of the runs: a multiple of ``record_every``, each no longer than ``target``.

    With ``round_step`` the step is, when possible, a round number (1, 2, 2.5
    or 5 times a power of ten) within a factor 4 below ``target`` that divides
    the horizon, so that round switching times fall on the recording grid.
    """
    if round_step:
        top = math.floor(math.log10(target))
        for exponent in range(top, top - 2, -1):
            for mantissa in (5.0, 2.5, 2.0, 1.0):
                step = mantissa * 10.0**exponent
                if not target / 4 <= step <= target * (1 + 1e-12):
                    continue
                steps = horizon / step
                if abs(steps - round(steps)) <= 1e-9 * steps and round(steps) % record_every == 0:
                    return max(1, int(round(steps)))
    steps = max(1, math.ceil(horizon / target - 1e-9))
    return -(-steps // record_every) * record_every


def _on_grid(t: float, interval: float) -> bool:
    if not math.isfinite(t):
        return False
    return abs(t / interval - round(t / interval)) <= _GRID_RTOL


_KEEP = object()


def with_sources(model, sources, vascular_shutdown=_KEEP):
    """The same model with other heat sources (and, if given, another vascular shutdown: None for none)."""
    from ..bioheat import PennesModel

    return PennesModel(
        model.grid, model.properties, boundaries=model.boundaries, heat_sources=sources, blood=model.blood,
        arterial_temperature=model.arterial_temperature, initial_temperature=model.initial_temperature(),
        vascular_shutdown=model.vascular_shutdown if vascular_shutdown is _KEEP else vascular_shutdown,
    )


def _record_run(model, horizon, dt, steps, record_every, voxels, settings, bar) -> np.ndarray:
    """Run ``model`` to ``horizon`` with step ``dt``, recording T at ``voxels`` every ``record_every`` steps."""
    from ..simulation import Callback, IterationInterval, Simulation

    sim = Simulation(model, stop_time=horizon, dt=dt, stepper=settings["stepper"], device=settings["device"],
                     dtype=settings["dtype"], rtol=settings["rtol"], num_threads=settings["num_threads"],
                     progress=False)
    xp = sim.backend.xp
    index = sim.backend.xp.asarray(voxels)
    out = xp.empty((steps // record_every + 1, voxels.size), dtype=sim.state.temperature.dtype)
    out[0] = sim.state.temperature.reshape(-1)[index]

    def record(s) -> None:
        if s.iteration % record_every == 0:
            out[s.iteration // record_every] = s.state.temperature.reshape(-1)[index]
            bar.update(record_every)

    sim.callbacks["record_responses"] = Callback(record, IterationInterval(record_every))
    sim.run()
    if sim.iteration != steps or abs(sim.dt - dt) > 1e-12 * dt:  # the engine kept our step
        raise RuntimeError(f"unit-response run took {sim.iteration} steps of {sim.dt!r} s, expected {steps} of {dt!r}")
    return np.asarray(to_host(out), dtype=np.float64)


# -- photodynamic therapy at the recorded voxels -----------------------------------------------
def _check_photodynamic(therapy, model, problems: Problems) -> None:
    """The therapy can be evaluated voxel by voxel, its light fields belonging to the model's sources."""
    from ..pdt import PhotodynamicTherapy

    if not problems.check(isinstance(therapy, PhotodynamicTherapy), "photodynamic", type(therapy).__name__,
                          "a PhotodynamicTherapy"):
        return
    therapy.validate(model.grid, "photodynamic", problems)
    problems.check(therapy.oxygen_diffusivity is None, "photodynamic.oxygen_diffusivity", therapy.oxygen_diffusivity,
                   "None: with oxygen diffusion the voxels' kinetics are coupled, so plans cannot be evaluated at "
                   "the recorded voxels alone; plan without it and check the plan with a full simulation")
    names = [s.name for s in model.heat_sources]
    for i, light in enumerate(therapy.light):
        name = getattr(getattr(light, "source", None), "name", None)
        problems.check(name in names, f"photodynamic.light[{i}].source.name", name,
                       f"the name of a heat source of the model ({', '.join(names)}): its power and schedule drive "
                       "the kinetics")


@dataclass(frozen=True, eq=False)
class _RecordedTherapy:
    """A PDT therapy restricted to the recorded voxels (columns), per planned source.

    ``unit_rates[s]`` is the fluence rate of model source ``s`` at its nominal
    power [W/m^2] (None for sources that do not excite the sensitizer).
    """

    therapy: Any
    sensitizer: Any
    s0: np.ndarray
    oxygen: np.ndarray
    unit_rates: tuple
    d0: np.ndarray | None
    rtol: float
    extinction: float
    wavelength: float

    @classmethod
    def at(cls, therapy, model, flat, n: int) -> "_RecordedTherapy":
        """The therapy at the ``n`` recorded voxels; ``flat(array)`` takes a grid array to them."""
        from ..pdt.treatment import DEFAULT_RTOL

        by_name = {light.source.name: light for light in therapy.light}
        rates = []
        for source in model.heat_sources:
            light = by_name.get(source.name)
            rates.append(None if light is None else
                         flat(np.asarray(light.fluence_rate_per_W, dtype=np.float64)) * float(light.source.power))
        s = therapy.sensitizer
        oxygen = s.oxygen_initial if therapy.oxygen_uM is None else therapy.oxygen_uM

        def column(value):
            a = np.asarray(value, dtype=np.float64)
            return np.full(n, float(a)) if a.ndim == 0 else flat(a).astype(np.float64)

        survival = therapy.survival
        return cls(therapy, s, column(therapy.concentration_uM), column(oxygen), tuple(rates),
                   None if survival is None else column(survival.d0_uM),
                   therapy.rtol if therapy.rtol is not None else DEFAULT_RTOL["float64"],
                   s.extinction_at(therapy.wavelength), therapy.wavelength)

    def subset(self, keep: np.ndarray) -> "_RecordedTherapy":
        return dataclasses.replace(
            self, s0=self.s0[keep], oxygen=self.oxygen[keep], d0=None if self.d0 is None else self.d0[keep],
            unit_rates=tuple(None if r is None else r[keep] for r in self.unit_rates))

    def evaluate(self, scales, intervals, tau: float, K: int, cols=None) -> dict[str, np.ndarray]:
        """[1O2]rx [uM], PDT dose [1/m^3] and PDT surviving fraction at every column (NaN outside ``cols``).

        The light of source ``s`` over recording interval ``k`` is
        ``scales[s] x level`` when one of its on-intervals covers it (on/off
        times lie on the recording grid); runs of intervals with the same light
        are integrated by one adaptive call of the kinetics.
        """
        from ..pdt.kinetics import PDTState, advance

        n = self.s0.size
        take = slice(None) if cols is None else cols
        levels = np.zeros((len(scales), K))
        for s, (a, ivs) in enumerate(zip(scales, intervals)):
            if self.unit_rates[s] is None:
                continue
            for j_on, j_off, level in ivs:
                levels[s, j_on:K if j_off is None else j_off] += a * level
        state = PDTState.initial(self.s0[take].shape, s0=self.s0[take], oxygen=self.oxygen[take])
        k = 0
        while k < K:
            end = k + 1
            while end < K and np.array_equal(levels[:, end], levels[:, k]):
                end += 1
            rate = np.zeros(state.s0.shape)
            for s, rates in enumerate(self.unit_rates):
                if rates is not None and levels[s, k] != 0.0:
                    rate += levels[s, k] * rates[take]
            advance(state, rate, (end - k) * tau, self.sensitizer, rtol=self.rtol, extinction=self.extinction,
                    wavelength=self.wavelength, validate=False)
            k = end

        def full(values):
            out = np.full(n, np.nan)
            out[take] = values
            return out

        rx = full(state.singlet_oxygen_reacted)
        out = {"1O2rx": rx, "pdt_dose": full(state.pdt_dose)}
        if self.d0 is not None:
            out["pdt_survival"] = np.exp(-rx / self.d0)
        return out
