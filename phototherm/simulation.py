"""Time-stepping a bioheat model: the :class:`Simulation` and its callbacks.

A simulation owns the stop time, the time step, the backend, the stepper and a
set of named callbacks that run on schedules (every n iterations or every so
many simulated seconds). Built-in callbacks check for NaN (on by default),
record probes and take snapshots; a progress bar appears for runs longer than
a couple of seconds. :meth:`Simulation.run` returns a
:class:`~phototherm.results.Result`. Given an ``output`` folder it also acts as
the output writer: the folder is staged while the run goes on (snapshots are
streamed into it) and moved into place only when complete, so a failed or
interrupted run leaves no folder that looks like a result.

Examples
--------
>>> import numpy as np
>>> import phototherm as pt
>>> grid = pt.Grid((16, 16, 16), 1e-3)
>>> muscle = pt.tissues.thermal_tissue("muscle")
>>> source = pt.gaussian_heat_source(grid, (8e-3, 8e-3, 8e-3), 2e-3, total_power=0.1)
>>> model = pt.PennesModel(grid, pt.ThermalProperties.uniform(grid, muscle), heat_sources=[source],
...                        boundaries=pt.BoundaryConditions(default=pt.FixedTemperature(37.0)))
>>> sim = pt.Simulation(model, stop_time=60.0, device="cpu", probes={"centre": (8e-3, 8e-3, 8e-3)})
>>> result = sim.run()
>>> bool(result.temperature.max() > 37.0)
True
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from .backend import Backend, resolve_backend, to_host
from .bioheat import (
    STATE_FIELDS,
    DeviceModel,
    EnergyBudget,
    ExplicitStepper,
    PennesModel,
    ThermalState,
    ThetaStepper,
)
from .errors import Problem, Problems, SimulationDiverged, StabilityError
from .io.atomic import atomic_write_bytes, atomic_write_text, check_destination, staged_directory
from .progress import ProgressBar
from .results import Result, state_field_names, write_snapshot

__all__ = [
    "Simulation",
    "Callback",
    "IterationInterval",
    "TimeInterval",
    "Probe",
    "STEPPERS",
]

#: Stepper names accepted by :class:`Simulation` and the theta of each.
STEPPERS = {"explicit": 0.0, "backward-euler": 1.0, "crank-nicolson": 0.5}
#: Fraction of the stability limit used when the explicit step is chosen automatically.
EXPLICIT_SAFETY = 0.95
#: Default implicit step, in multiples of the explicit limit.
IMPLICIT_DEFAULT_MULTIPLE = 10.0


@dataclass(frozen=True)
class IterationInterval:
    """Due every ``n`` iterations (and at the end of the run)."""

    n: int

    def due(self, iteration: int, time: float, dt: float) -> bool:
        return iteration % self.n == 0


@dataclass(frozen=True)
class TimeInterval:
    """Due at the first step ending on or after each multiple of ``interval`` [s]."""

    interval: float

    def due(self, iteration: int, time: float, dt: float) -> bool:
        # the step [time - dt, time] contains a multiple of the interval
        return math.floor((time + 1e-9 * dt) / self.interval) > math.floor((time - dt + 1e-9 * dt) / self.interval)


@dataclass
class Callback:
    """``func(simulation)`` called whenever ``schedule`` is due.

    Parameters
    ----------
    func : callable
        Receives the :class:`Simulation`; may read ``sim.time``,
        ``sim.iteration`` and ``sim.state`` (backend arrays).
    schedule : IterationInterval or TimeInterval
    """

    func: Callable[["Simulation"], None]
    schedule: IterationInterval | TimeInterval = field(default_factory=lambda: IterationInterval(1))


@dataclass(frozen=True)
class Probe:
    """A point at which temperature is recorded against time.

    Attributes
    ----------
    name : str
    point : tuple of 3 float
        Requested position [m].
    index : tuple of 3 int
        Voxel containing it (the value recorded is that voxel's).
    position_m : tuple of 3 float
        Centre of that voxel [m].
    """

    name: str
    point: tuple[float, float, float]
    index: tuple[int, int, int]
    position_m: tuple[float, float, float]


class Simulation:
    """Run a :class:`~phototherm.bioheat.PennesModel` from t = 0 to ``stop_time``.

    Parameters
    ----------
    model : PennesModel
    stop_time : float
        End of the run [s].
    dt : float, optional
        Time step [s]. Explicit default: 0.95 of the stability limit. Implicit
        default: 10 times that limit (at most ``stop_time``). The step is
        shortened slightly, if needed, so a whole number of steps ends exactly
        at ``stop_time``.
    stepper : {"explicit", "backward-euler", "crank-nicolson"}
        Time integration. Explicit steps are refused above the stability limit.
    device : {"auto", "cpu", "gpu"}, optional
        Backend; see :func:`phototherm.backend.resolve_backend`.
    dtype : {"float32", "float64"}, optional
        Floating-point type; default float32 on the GPU, float64 on the CPU.
    time_above_threshold : float
        Threshold of the time-above map [C].
    probes : mapping of str to point, optional
        Named points [m] at which temperature is recorded against time.
    probe_interval : float, optional
        Probe sampling interval [s]; default every step.
    snapshot_interval : float, optional
        Keep copies of the fields every so many seconds [s].
    snapshot_fields : sequence of str
        Which state fields snapshots keep, among ``STATE_FIELDS``
        (``temperature``, ``cem43``, ``omega``, ``max_temperature``,
        ``time_above``).
    nan_check_interval : int
        Iterations between checks for non-finite temperatures (0 disables).
    progress : bool, optional
        Show a progress bar (it appears only after 2 s). Default True.
    track_energy : bool
        Keep a global :class:`~phototherm.bioheat.EnergyBudget` (costs a few
        reductions per step).
    num_threads : int, optional
        CPU threads for the explicit stepper.
    rtol : float, optional
        Conjugate-gradient tolerance of implicit steppers.

    Raises
    ------
    InputError
        Invalid settings (all listed).
    StabilityError
        An explicit ``dt`` above the stability limit.
    DeviceUnavailableError
        ``device="gpu"`` without a usable GPU.
    """

    def __init__(
        self,
        model: PennesModel,
        *,
        stop_time: float,
        dt: float | None = None,
        stepper: str = "explicit",
        device: str | None = None,
        dtype=None,
        time_above_threshold: float = 43.0,
        probes: Mapping[str, Sequence[float]] | None = None,
        probe_interval: float | None = None,
        snapshot_interval: float | None = None,
        snapshot_fields: Sequence[str] = ("temperature",),
        nan_check_interval: int = 100,
        progress: bool | None = None,
        track_energy: bool = False,
        num_threads: int | None = None,
        rtol: float | None = None,
        photodynamic=None,
    ):
        problems = Problems()
        problems.check(isinstance(model, PennesModel), "model", type(model).__name__, "a PennesModel")
        problems.raise_if_any("invalid simulation settings")
        given_stepper, stepper = stepper, stepper.strip().lower() if isinstance(stepper, str) else stepper
        problems.positive(stop_time, "stop_time", "[s]")
        if dt is not None:
            problems.positive(dt, "dt", "[s]")
        problems.check(stepper in STEPPERS, "stepper", given_stepper, f"one of {', '.join(STEPPERS)}")
        problems.finite(time_above_threshold, "time_above_threshold", "[C]")
        for name, interval in (("probe_interval", probe_interval), ("snapshot_interval", snapshot_interval)):
            if interval is not None:
                problems.positive(interval, name, "[s]")
        for f in snapshot_fields:
            problems.check(f in STATE_FIELDS, "snapshot_fields", f, f"one of {', '.join(STATE_FIELDS)}")
        problems.check(isinstance(nan_check_interval, (int, np.integer)) and nan_check_interval >= 0,
                       "nan_check_interval", nan_check_interval, "a whole number of iterations >= 0")
        self.probes: list[Probe] = []
        for name, point in (probes or {}).items():
            try:
                point = tuple(float(x) for x in point)
            except (TypeError, ValueError):
                problems.add(f"probes.{name}", point, "three coordinates [m]")
                continue
            if problems.check(len(point) == 3 and model.grid.contains(point), f"probes.{name}", point,
                              f"a point inside the grid, bounds {model.grid.bounds} [m]"):
                index = model.grid.index_of(point)
                self.probes.append(Probe(name, point, index, model.grid.centre_of(index)))
        if photodynamic is not None:
            from .pdt.treatment import PhotodynamicTherapy

            if problems.check(isinstance(photodynamic, PhotodynamicTherapy), "photodynamic",
                              type(photodynamic).__name__, "a phototherm.pdt.PhotodynamicTherapy"):
                photodynamic.validate(model.grid, "photodynamic", problems)
        problems.raise_if_any("invalid simulation settings")

        self.model = model
        self.stop_time = float(stop_time)
        self.stepper_name = stepper
        self.time_above_threshold = float(time_above_threshold)
        self.stability = model.stability_limit()
        self.dt = self._choose_dt(dt)
        self.backend: Backend = resolve_backend(device, dtype)
        self.progress = True if progress is None else bool(progress)

        self.dev = DeviceModel(model, self.backend)
        self.state = ThermalState.initial(model, self.backend)
        theta = STEPPERS[stepper]
        if theta == 0.0:
            self.stepper = ExplicitStepper(self.dev, self.state, time_above_threshold=self.time_above_threshold,
                                           num_threads=num_threads)
        else:
            self.stepper = ThetaStepper(self.dev, self.state, theta=theta,
                                        time_above_threshold=self.time_above_threshold, rtol=rtol)
        self.energy = EnergyBudget() if track_energy else None
        self.pdt = None
        if photodynamic is not None:
            from .pdt.treatment import PhotodynamicProcess

            self.pdt = PhotodynamicProcess(photodynamic, model.grid, self.backend)
        self.time = 0.0
        self.iteration = 0
        self.wall_time = 0.0

        self.callbacks: dict[str, Callback] = {}
        if nan_check_interval:
            self.callbacks["nan_check"] = Callback(_check_finite, IterationInterval(int(nan_check_interval)))
        self._probe_times: list[float] = []
        self._probe_values: list = []
        if self.probes:
            self._probe_index = tuple(
                self.backend.xp.asarray([p.index[d] for p in self.probes]) for d in range(3)
            )
            schedule = TimeInterval(probe_interval) if probe_interval else IterationInterval(1)
            self.callbacks["probes"] = Callback(Simulation._record_probes, schedule)
            self._record_probes()
        #: Snapshots held in memory: ``(time_s, {field name: array})``.
        self.snapshots: list[tuple[float, dict[str, np.ndarray]]] = []
        #: Snapshots already written to the output folder: ``(time_s, relative path)``.
        self.snapshot_files: list[tuple[float, str]] = []
        self._stage: Path | None = None
        self._snapshot_fields = tuple(snapshot_fields)
        if snapshot_interval:
            self.callbacks["snapshots"] = Callback(Simulation._take_snapshot, TimeInterval(snapshot_interval))
            self._take_snapshot()

    # -- set-up ----------------------------------------------------------------
    def _choose_dt(self, dt: float | None) -> float:
        limit = self.stability.dt
        if self.stepper_name == "explicit":
            if dt is not None and dt > limit * (1 + 1e-12):
                raise StabilityError("time step above the explicit stability limit",
                                     [stability_problem(dt, self.stability)])
            target = dt if dt is not None else EXPLICIT_SAFETY * limit
        else:
            target = dt if dt is not None else IMPLICIT_DEFAULT_MULTIPLE * limit
        target = min(target, self.stop_time)
        steps = max(1, math.ceil(self.stop_time / target - 1e-9))
        return self.stop_time / steps

    # -- running ---------------------------------------------------------------
    def run(self, output=None, *, overwrite: bool = True, figures: bool = True, extra_files=None, fields=None,
            report: bool = False):
        """Step to ``stop_time``, running the callbacks; return the :class:`~phototherm.results.Result`.

        May be called again after raising ``stop_time`` to continue the run.

        Parameters
        ----------
        output : path, optional
            Results folder to write (see :meth:`Result.write
            <phototherm.results.Result.write>`). It is checked before the run,
            built in a hidden staging folder while the run goes on (snapshots
            are written as they are taken rather than kept in memory) and moved
            into place only when complete; a failed or interrupted run leaves
            any earlier folder untouched and no partial one.
        overwrite : bool
            Replace an existing ``output`` folder.
        figures : bool
            Render PNG figures into ``output``.
        extra_files : mapping of str to (str, bytes or callable), optional
            Files to add to ``output``: name -> content (text or bytes), or a
            function of the :class:`~phototherm.results.Result` returning it
            (e.g. the resolved scenario, per-structure metrics); written with
            the results, inside the staging folder.
        fields : sequence of str, optional
            Names of the fields to write to ``fields.vti``/``.npz`` (default
            all; see :meth:`Result.write_into <phototherm.results.Result.write_into>`).
        report : bool
            Also write ``report.html`` and its figures (:func:`phototherm.viz.report.write_report`).

        Raises
        ------
        SimulationDiverged
            If the temperature becomes NaN or infinite.
        InputError
            If ``output`` cannot be written (an existing file, or an existing
            folder with ``overwrite=False``).
        """
        if output is None:
            return self._run()
        check_destination(output, overwrite=overwrite, key="output")
        with staged_directory(output, overwrite=overwrite, key="output") as stage:
            self._stage = stage
            try:
                for time, snapshot in self.snapshots:  # taken before the run: write them out too
                    self._write_snapshot(time, snapshot)
                self.snapshots.clear()
                result = self._run()
                for name, content in (extra_files or {}).items():
                    content = content(result) if callable(content) else content
                    if isinstance(content, bytes):
                        atomic_write_bytes(stage / name, content)
                    else:
                        atomic_write_text(stage / name, content)
                result.write_into(stage, figures=figures, fields=fields, report=report)
            finally:
                self._stage = None
        return result

    def _run(self) -> Result:
        start_iteration, start_time = self.iteration, self.time
        # equal steps no longer than dt, the last one ending exactly at stop_time
        # (a run continued to a later stop_time may need a slightly shorter step)
        remaining = max(0, math.ceil((self.stop_time - start_time) / self.dt - 1e-9))
        if remaining:
            self.dt = (self.stop_time - start_time) / remaining
        wall_start = _time.perf_counter()
        with ProgressBar(remaining, unit="step", description=f"bioheat to {self.stop_time:g} s",
                         show=None if self.progress else False) as bar:
            for n in range(1, remaining + 1):
                t0 = self.time
                t1 = self.stop_time if n == remaining else start_time + n * self.dt
                self._advance(t0, t1)
                self.time, self.iteration = t1, start_iteration + n
                for callback in self.callbacks.values():
                    if callback.schedule.due(self.iteration, self.time, self.dt) or n == remaining:
                        callback.func(self)
                bar.update(1)
        self.backend.synchronize()
        self.wall_time += _time.perf_counter() - wall_start
        if "nan_check" not in self.callbacks:
            _check_finite(self)
        return Result.from_simulation(self)

    def _advance(self, t0: float, t1: float) -> None:
        if self.energy is None:
            self.stepper.step(t0, t1)
        else:
            T_old = self.state.temperature.copy()
            factor = self.dev.perfusion_factor(self.state)
            self.stepper.step(t0, t1)
            self.energy.record(self.dev, T_old, self.state.temperature, factor, self.stepper.theta, t0, t1)
        if self.pdt is not None:
            self.pdt.step(t0, t1)

    # -- built-in callbacks ------------------------------------------------------
    def _record_probes(self) -> None:
        self._probe_times.append(self.time)
        self._probe_values.append(self.state.temperature[self._probe_index])

    def _take_snapshot(self) -> None:
        taken = [t for t, _ in self.snapshots] + [t for t, _ in self.snapshot_files]
        if taken and taken[-1] == self.time:
            return
        names = state_field_names(self.time_above_threshold)
        fields = {names[f][0]: to_host(getattr(self.state, f)).copy() for f in self._snapshot_fields}
        if self._stage is None:
            self.snapshots.append((self.time, fields))
        else:
            self._write_snapshot(self.time, fields)

    def _write_snapshot(self, time: float, fields: dict[str, np.ndarray]) -> None:
        """Write one snapshot into the staged output folder (the output writer)."""
        units = dict(state_field_names(self.time_above_threshold).values())
        name = write_snapshot(self._stage, len(self.snapshot_files), self.model.grid, time, fields, units)
        self.snapshot_files.append((time, name))

    def probe_record(self) -> tuple[np.ndarray, np.ndarray]:
        """Probe times [s] and temperatures [C], shape ``(n_samples, n_probes)``."""
        if not self._probe_values:
            return np.zeros(0), np.zeros((0, len(self.probes)))
        values = to_host(self.backend.xp.stack(self._probe_values))
        return np.asarray(self._probe_times), values

    def describe(self) -> dict:
        """Settings of the run (recorded in the result summary)."""
        out = {
            "stop_time_s": self.stop_time,
            "dt_s": self.dt,
            "steps": self.iteration,
            "stepper": self.stepper.name,
            "stability_limit_s": self.stability.dt,
            "stability_limit_voxel": list(self.stability.index),
            "stability_limit_tissue": self.stability.tissue,
            "time_above_threshold_C": self.time_above_threshold,
            "probes": [
                {"name": p.name, "point_m": list(p.point), "voxel": list(p.index), "voxel_centre_m": list(p.position_m)}
                for p in self.probes
            ],
        }
        if self.pdt is not None:
            out["photodynamic"] = self.pdt.therapy.describe()
        if isinstance(self.stepper, ThetaStepper):
            its = self.stepper.iterations
            out["cg_rtol"] = self.stepper.rtol
            out["cg_iterations_mean"] = float(np.mean(its)) if its else 0.0
            out["cg_iterations_max"] = int(max(its)) if its else 0
        return out


def stability_problem(dt: float, limit, path: str = "dt", implicit: str = "stepper='backward-euler'") -> Problem:
    """The problem of an explicit step ``dt`` [s] above the stability ``limit`` (a StabilityLimit).

    ``path`` and ``implicit`` say how the caller names the step and the implicit stepper.
    """
    return Problem(
        path,
        dt,
        f"at most {limit.dt:.6g} s, the explicit stability limit set by voxel {limit.index} "
        f"({limit.tissue}); use a smaller step or {implicit} for longer steps [s]",
    )


def _check_finite(sim: Simulation) -> None:
    T = sim.state.temperature
    if bool(sim.backend.xp.isfinite(T).all()):
        return
    host = to_host(T)
    bad = ~np.isfinite(host)
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    label = int(sim.model.properties.labels[index])
    raise SimulationDiverged(
        f"temperature became {host[index]} at t = {sim.time:.6g} s (iteration {sim.iteration}) in "
        f"{int(bad.sum())} voxel(s), the first voxel {index} ({sim.model.properties.label_name(label)}); "
        "check the heat sources and inputs for NaN or overflow, or use float64"
    )
