"""From a validated scenario to engine objects, and running it.

:func:`build_scenario` follows DESIGN.md's data flow, converting every
unit-suffixed key to SI once:

geometry (phantom or mesh -> grid, labels, structures) -> tissue properties
(thermal per label; optical per label at each source wavelength) -> agents
(nanoparticle number density, photosensitizer concentration; their absorption
joins the tissue's) -> light (one field per source, per watt) -> heat sources
``Q = P mua phi`` with each source's schedule -> the Pennes model (and the PDT
therapy) -> a :class:`~phototherm.Simulation` with the scenario's numerics,
probes and snapshots.

:func:`run_scenario` runs it and writes the results folder (atomically:
nothing that looks complete is left by a failed or interrupted run) with the
resolved scenario (``scenario.toml``) beside the fields and ``summary.json``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import Problems

__all__ = ["BuiltScenario", "build_scenario", "run_scenario", "run_built", "structure_metrics"]

_MM, _NM = 1e-3, 1e-9


@dataclass(eq=False)
class BuiltScenario:
    """The engine objects a scenario describes.

    Attributes
    ----------
    scenario : Scenario
    grid : Grid
    labels : ndarray of int32
    tissue_names : dict of int to str
        Label -> tissue name.
    structures : dict of str to ndarray of bool
    model : PennesModel
    light : list of LightField
        One per source, in the scenario's order.
    photodynamic : PhotodynamicTherapy or None
    simulation_options : dict
        Keyword arguments of :class:`~phototherm.Simulation` (SI).
    """

    scenario: object
    grid: object
    labels: np.ndarray
    tissue_names: dict
    structures: dict
    model: object
    light: list = field(default_factory=list)
    photodynamic: object = None
    simulation_options: dict = field(default_factory=dict)

    def simulation(self, *, device=None, progress=None):
        """A :class:`~phototherm.Simulation` of the scenario (``device`` overrides the scenario's)."""
        from ..simulation import Simulation

        options = dict(self.simulation_options)
        if device is not None:
            options["device"] = device
        if progress is not None:
            options["progress"] = progress
        return Simulation(self.model, photodynamic=self.photodynamic, **options)

    def with_plan(self, plan, planned_scenario) -> "BuiltScenario":
        """The same objects with each source at ``plan``'s power and schedule (light fields reused).

        Parameters
        ----------
        plan : phototherm.planning.Plan
        planned_scenario : Scenario
            The scenario the plan gives (:func:`phototherm.scenario.plan.apply_plan`).
        """
        return dataclasses.replace(self, scenario=planned_scenario, model=plan.apply(self.model),
                                   photodynamic=plan.apply_therapy(self.photodynamic),
                                   simulation_options=dict(self.simulation_options))


def build_scenario(scenario, *, device=None, dtype=None, progress=None) -> BuiltScenario:
    """Build the engine objects of a validated :class:`~phototherm.scenario.Scenario`.

    Parameters
    ----------
    scenario : Scenario
    device, dtype : optional
        Backend of the light solver and the simulation; default the
        scenario's ``numerics.device`` / ``numerics.dtype``.
    progress : bool or None
        Progress bars (Monte Carlo, simulation).

    Raises
    ------
    InputError
        Problems only visible once the geometry exists (e.g. a mesh tag
        without a tissue), every one listed.
    """
    from ..bioheat import BoundaryConditions, PennesModel, VascularShutdown, steady_state_temperature
    from ..tissues import Blood, ThermalProperties

    from ..backend import resolve_backend
    from ..errors import DeviceUnavailableError, InputError, Problem, StabilityError
    from ..simulation import stability_problem

    scenario.check_files()
    num = scenario.numerics
    device_key = "device" if device is not None else "numerics.device"
    device = device if device is not None else num.device
    dtype = dtype if dtype is not None else num.dtype
    try:
        resolve_backend(device, dtype)
    except DeviceUnavailableError as exc:
        raise InputError("invalid scenario", [Problem(device_key, device, f"a usable device: {exc}")]) from None
    grid, labels, names, structures = _geometry(scenario)
    label_of = {name: label for label, name in names.items()}
    problems = Problems()
    for i, spec in enumerate(scenario.nanoparticles):
        tissues = spec.distribution.tissues
        if tissues and not np.isin(labels, [label_of[t] for t in tissues if t in label_of]).any():
            problems.add(f"nanoparticles[{i}].distribution.tissues", tissues,
                         "tissues holding at least one voxel at this spacing (a layer thinner than a voxel holds "
                         "none)")
    problems.raise_if_any("invalid scenario")

    thermal = {label: _thermal_tissue(scenario, name) for label, name in names.items()}
    properties = ThermalProperties(grid, labels, thermal)
    bio = scenario.bioheat
    blood = Blood(**{k: v for k, v in (("density", bio.blood_density_kg_per_m3),
                                       ("specific_heat", bio.blood_specific_heat_J_per_kg_per_K)) if v is not None})
    boundaries = BoundaryConditions(**{face: _boundary(scenario.boundaries.face(face)) for face in
                                       ("x_min", "x_max", "y_min", "y_max", "z_min", "z_max")})
    if num.stepper == "explicit" and num.dt_s is not None:
        limit = PennesModel(grid, properties, boundaries=boundaries, blood=blood).stability_limit()
        if num.dt_s > limit.dt * (1 + 1e-12):
            raise StabilityError("invalid scenario", [stability_problem(
                num.dt_s, limit, "numerics.dt_s", 'stepper = "backward-euler" or "crank-nicolson"')])
    light = _light_fields(scenario, grid, labels, label_of, structures, device, dtype, progress)
    photodynamic = _photodynamic(scenario, labels, label_of, light)

    shutdown = None
    if bio.vascular_shutdown is not None:
        vs = bio.vascular_shutdown
        shutdown = VascularShutdown("cem43" if vs.quantity == "cem43_min" else "arrhenius", vs.threshold,
                                    vs.residual_fraction)
    common = dict(boundaries=boundaries, blood=blood, arterial_temperature=bio.arterial_temperature_C)
    if bio.initial_state == "steady_state":
        initial = steady_state_temperature(PennesModel(grid, properties, **common))
    else:
        initial = bio.initial_temperature_C if bio.initial_temperature_C is not None else bio.arterial_temperature_C
    heat_sources = [f.heat_source() for f in light]
    model = PennesModel(grid, properties, heat_sources=heat_sources, initial_temperature=initial,
                        vascular_shutdown=shutdown, **common)

    out = scenario.outputs
    options = dict(stop_time=num.stop_time_s, dt=num.dt_s, stepper=num.stepper, device=device, dtype=dtype,
                   time_above_threshold=num.time_above_threshold_C, nan_check_interval=num.nan_check_interval,
                   rtol=num.cg_rtol, num_threads=num.num_threads, progress=progress,
                   probes={k: tuple(x * _MM for x in v) for k, v in (out.probes or {}).items()},
                   probe_interval=out.probe_interval_s, snapshot_interval=out.snapshot_interval_s)
    if out.snapshot_interval_s is not None:
        from .schema import SNAPSHOT_FIELDS

        options["snapshot_fields"] = tuple(SNAPSHOT_FIELDS[f] for f in out.snapshot_fields)
    return BuiltScenario(scenario, grid, labels, names, structures, model, light, photodynamic, options)


def run_scenario(scenario, *, out=None, device=None, progress=None, figures=None):
    """Build and run a scenario; write its results folder.

    Parameters
    ----------
    scenario : Scenario
    out : path, optional
        Results folder; default ``outputs.folder`` (relative to the scenario file).
    device : {"auto", "cpu", "gpu"}, optional
        Overrides ``numerics.device``.
    progress : bool or None
    figures : bool, optional
        Overrides ``outputs.figures``.

    Returns
    -------
    (Result, Path)
    """
    from ..io.atomic import check_destination

    folder = Path(out) if out is not None else Path(scenario.resolve_path(scenario.outputs.folder))
    check_destination(folder, overwrite=scenario.outputs.overwrite, key="outputs.folder")
    built = build_scenario(scenario, device=device, progress=progress)
    return run_built(built, folder, progress=progress, figures=figures), folder


def run_built(built: BuiltScenario, folder, *, progress=None, figures=None, extra_files=None):
    """Run a built scenario and write its results folder (atomically).

    Besides the simulation's outputs the folder holds ``scenario.toml`` (the
    scenario run), ``structures.json`` (per-structure metrics, and the
    objective and constraints judged on the result) and ``structures.npz``
    (the structure masks), plus ``extra_files``; ``outputs.fields`` selects
    the fields written and ``outputs.report`` adds ``report.html``.

    Returns
    -------
    Result
    """
    scenario = built.scenario
    sim = built.simulation(progress=progress)
    figures = scenario.outputs.figures if figures is None else figures
    files = {"scenario.toml": scenario.to_toml(),
             "structures.json": lambda r: _structure_metrics_json(built, r),
             "structures.npz": lambda r: _structure_masks_npz(built)}
    files.update(extra_files or {})
    return sim.run(output=folder, overwrite=scenario.outputs.overwrite, figures=figures, extra_files=files,
                   fields=scenario.outputs.fields, report=scenario.outputs.report)


def structure_metrics(built: BuiltScenario, result) -> dict:
    """Per-structure metrics of a run (:func:`phototherm.planning.evaluate`), plain data.

    The V-threshold levels are the defaults (:data:`phototherm.planning.DEFAULT_THRESHOLDS`)
    plus the photosensitizer's [1O2]rx necrosis threshold and every V level the
    scenario's objective and constraints use.
    """
    from ..planning import Structure, evaluate
    from ..planning.metrics import DEFAULT_THRESHOLDS
    from .plan import scenario_goals, structure_roles

    levels = {q: set(v) for q, v in DEFAULT_THRESHOLDS.items()}
    if built.photodynamic is not None:
        levels.setdefault("1O2rx", set()).add(float(built.photodynamic.sensitizer.threshold))
    objective, constraints = scenario_goals(built.scenario)
    for goal in [objective] + [c for _, c in constraints]:
        if goal is not None and goal.metric == "V":
            levels.setdefault(goal.quantity, set()).add(float(goal.level))
    roles = structure_roles(built.scenario)
    structures = [Structure(name, mask, role=roles.get(name, "other"))
                  for name, mask in built.structures.items() if mask.any()]
    return evaluate(result, structures, thresholds={q: sorted(v) for q, v in levels.items()})


def _structure_metrics_json(built, result) -> str:
    from ..io.tables import json_text
    from .plan import goal_report

    return json_text({"units_note": "each quantity lists its unit; volumes in mm^3",
                      "structures": structure_metrics(built, result),
                      "goals": goal_report(built.scenario, built.structures, result)})


def _structure_masks_npz(built) -> bytes:
    """The structure masks (grid shape, C order) and their roles, as NPZ bytes."""
    import io
    import json

    from .plan import structure_roles

    roles = structure_roles(built.scenario)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, roles_json=np.array(json.dumps({n: roles.get(n, "other") for n in built.structures})),
                        **{name: np.asarray(mask, dtype=bool) for name, mask in built.structures.items()})
    return buffer.getvalue()


# -- geometry ---------------------------------------------------------------------------
def _geometry(scenario):
    """Grid, int32 labels, label -> tissue name, structures (name -> mask)."""
    from ..grid import Grid
    from ..phantoms import build_phantom

    geo, spacing = scenario.geometry, tuple(h * _MM for h in scenario.grid.spacing_mm)
    if geo.type != "mesh":
        params = {}
        for key, value in geo.model_dump(exclude={"type"}, exclude_none=True).items():
            if key == "layers":
                params["layers"] = tuple((layer["tissue"], None if layer.get("thickness_mm") is None
                                          else layer["thickness_mm"] * _MM) for layer in value)
            elif key.endswith("_mm"):
                name = key[: -len("_mm")]
                params[name] = tuple(v * _MM for v in value) if isinstance(value, (list, tuple)) else value * _MM
            else:
                params[key] = value
        phantom = build_phantom(geo.type, spacing=spacing, **params)
        structures = dict(phantom.structures)
        names = dict(phantom.tissues)
    else:
        grid_spec = scenario.grid
        from ..io.meshes import labels_from_surfaces, labels_from_tetra_mesh, read_mesh

        meshes = [read_mesh(scenario.resolve_path(geo.file), units=geo.mesh_units)] if geo.file else []
        surfaces = [(s, read_mesh(scenario.resolve_path(s.file), units=s.mesh_units or geo.mesh_units))
                    for s in geo.surfaces]
        if grid_spec.origin_mm is not None:
            origin = tuple(v * _MM for v in grid_spec.origin_mm)
            size = tuple(v * _MM for v in grid_spec.size_mm)
        else:
            points = np.concatenate([m.points for m in meshes] + [m.points for _, m in surfaces])
            origin, top = points.min(axis=0), points.max(axis=0)
            size = top - origin
        shape = tuple(max(1, int(np.ceil(L / h - 1e-9))) for L, h in zip(size, spacing))
        grid = Grid(shape, spacing, tuple(origin))
        ordered = [geo.background, *geo.tags.values(), *(s.tissue for s, _ in surfaces)]
        label_of = {name: i for i, name in enumerate(dict.fromkeys(ordered))}  # first appearance
        labels = np.full(grid.shape, label_of[geo.background], dtype=np.int32)
        if meshes:
            tags = labels_from_tetra_mesh(meshes[0], grid, tag=geo.tag_field, background=-1, units="m")
            problems = Problems()
            for tag in np.unique(tags[tags >= 0]):
                if problems.check(str(int(tag)) in geo.tags, "geometry.tags", int(tag),
                                  f"a tissue for every tag in {geo.file}: tag {int(tag)} is missing"):
                    labels[tags == tag] = label_of[geo.tags[str(int(tag))]]
            problems.raise_if_any("invalid mesh geometry")
        if surfaces:
            labels = labels_from_surfaces([(label_of[s.tissue], m) for s, m in surfaces], grid, base=labels,
                                          units="m")
        names = {label: name for name, label in label_of.items()}
        structures = {name: labels == label for label, name in names.items() if (labels == label).any()}
        if "tumour" in structures:
            structures["healthy"] = ~structures["tumour"]
        return grid, labels.astype(np.int32), names, _with_scenario_structures(scenario, grid, labels, names,
                                                                               structures)
    return phantom.grid, phantom.labels, names, _with_scenario_structures(scenario, phantom.grid, phantom.labels,
                                                                          names, structures)


def _with_scenario_structures(scenario, grid, labels, names, structures):
    """Add the scenario's ``[[structures]]`` (by tissues, with optional margins)."""
    from ..planning import Structure, margin

    out = dict(structures)
    label_of = {name: label for label, name in names.items()}
    problems = Problems()
    for i, spec in enumerate(scenario.structures):
        if spec.tissues:
            mask = np.isin(labels, [label_of[t] for t in spec.tissues if t in label_of])
        else:
            mask = out.get(spec.name)
        if not problems.check(mask is not None and mask.any(), f"structures[{i}]", spec.name,
                              "a structure that covers at least one voxel of the geometry"):
            continue
        out[spec.name] = mask
        if spec.margin_mm:
            ring = margin(Structure(spec.name, mask), spec.margin_mm * _MM, grid)
            out[ring.name] = np.asarray(ring.mask)
    problems.raise_if_any("invalid structures")
    return out


# -- tissues -------------------------------------------------------------------------------
def _tissue_spec(scenario, name):
    return (scenario.tissues or {}).get(name)


def _thermal_tissue(scenario, name):
    from ..phantoms import TISSUE_DEFAULTS
    from ..tissues import ArrheniusParameters, itis_tissue, thermal_tissue

    spec = _tissue_spec(scenario, name)
    if spec is not None and spec.itis:
        tissue = itis_tissue(spec.itis)
    elif spec is not None and spec.thermal:
        tissue = thermal_tissue(spec.thermal)
    else:
        tissue = thermal_tissue(TISSUE_DEFAULTS[name][0] if name in TISSUE_DEFAULTS else name)
    if spec is None:
        return dataclasses.replace(tissue, name=name)
    changes = dict(spec.thermal_overrides())
    if spec.arrhenius_A_per_s is not None:
        changes["arrhenius"] = ArrheniusParameters(spec.arrhenius_A_per_s, spec.arrhenius_Ea_J_per_mol,
                                                   source="scenario")
    return dataclasses.replace(tissue, name=name, **changes)


def _optical_tissue(scenario, name):
    from ..phantoms import TISSUE_DEFAULTS
    from ..tissues import optical_tissue

    spec = _tissue_spec(scenario, name)
    base = spec.optical if spec is not None and spec.optical else (
        TISSUE_DEFAULTS[name][1] if name in TISSUE_DEFAULTS else name)
    return optical_tissue(base, **(spec.optical_overrides() if spec is not None else {}))


# -- light ---------------------------------------------------------------------------------
def _light_fields(scenario, grid, labels, label_of, structures, device, dtype, progress):
    from ..errors import InputError, Problem, SolverDidNotConverge
    from ..light import OpticalMedium, compute_light_fields

    fields = [None] * len(scenario.sources)
    by_wavelength: dict[float, list[int]] = {}
    for i, source in enumerate(scenario.sources):
        by_wavelength.setdefault(source.wavelength_nm, []).append(i)
    spec = scenario.light
    for wavelength_nm, indices in by_wavelength.items():
        wavelength = wavelength_nm * _NM
        optics = {label: _optical_tissue(scenario, name) for name, label in label_of.items()}
        medium = OpticalMedium.from_labels(grid, labels, optics, wavelength, ambient_index=spec.ambient_index)
        for mua, mus, g in _agent_optics(scenario, grid, labels, label_of, structures, wavelength):
            medium = medium.with_added(mua, mus, g)
        sources = [_source(scenario.sources[i]) for i in indices]
        options = dict(method=spec.method, device=device, dtype=dtype, progress=progress)
        if spec.method == "monte-carlo":
            options.update(photons=spec.photons, seed=spec.seed, batches=spec.batches, roulette=spec.roulette)
        else:
            options.update({k: v for k, v in (("rtol", spec.diffusion_rtol),
                                              ("max_iterations", spec.diffusion_max_iterations),
                                              ("supersampling", spec.supersampling)) if v is not None})
        try:
            computed = compute_light_fields(medium, sources, **options)
        except SolverDidNotConverge as exc:
            raise InputError("light solve did not converge", [Problem(
                "light.diffusion_max_iterations", spec.diffusion_max_iterations,
                f"more iterations, or a looser light.diffusion_rtol: {exc}")]) from None
        for i, light in zip(indices, computed):
            fields[i] = light
    return fields


def _agent_optics(scenario, grid, labels, label_of, structures, wavelength):
    """(mua, mus, g) of every nanoparticle population and of the photosensitizer at ``wavelength``."""
    from ..nanoparticles import (GoldNanorod, GoldNanoshell, GoldSphere, gaussian, nanoparticle_optics,
                                 number_density, rim_enhanced, uniform)

    for np_spec in scenario.nanoparticles:
        p = np_spec.particle
        damping = dict(size_correction=p.size_correction, damping_A=p.damping_A)
        if p.type == "sphere":
            particle = GoldSphere(p.diameter_nm * _NM, **damping)
        elif p.type == "nanoshell":
            particle = GoldNanoshell(p.core_diameter_nm * _NM, p.shell_thickness_nm * _NM, core_index=p.core_index,
                                     **damping)
        elif p.peak_wavelength_nm is not None:
            particle = GoldNanorod.calibrated(p.length_nm * _NM, p.diameter_nm * _NM, p.peak_wavelength_nm * _NM,
                                              **damping)
        else:
            particle = GoldNanorod(p.length_nm * _NM, p.diameter_nm * _NM, **damping)
        d = np_spec.distribution
        mask = np.isin(labels, [label_of[t] for t in (d.tissues or []) if t in label_of]) if d.tissues else None
        concentration = d.concentration()
        if d.type == "uniform":
            density = uniform(grid, mask, number_density(*concentration, particle))
        elif d.type == "rim_enhanced":
            density = rim_enhanced(grid, mask, number_density(*concentration, particle),
                                   rim_width=d.rim_width_mm * _MM, enhancement=d.enhancement)
        else:
            peak = None if concentration is None else number_density(*concentration, particle)
            density = gaussian(grid, tuple(c * _MM for c in d.centre_mm), tuple(s * _MM for s in d.sigma_mm),
                               total_particles=d.total_particles, peak_density=peak, mask=mask)
        kwargs = {"medium_index": np_spec.medium_index}
        if p.type == "nanorod":
            kwargs["orientation"] = p.orientation
        yield nanoparticle_optics(density, particle.cross_sections(wavelength, **kwargs))
    ps = scenario.photosensitizer
    if ps is not None:
        sensitizer = _sensitizer(ps)
        if any(abs(wavelength - w) <= 1e-9 for w in sensitizer.wavelengths):
            from ..pdt import sensitizer_absorption

            yield sensitizer_absorption(_concentration_map(ps, labels, label_of), sensitizer, wavelength), 0.0, 0.0


def _source(spec):
    from ..light import CollimatedBeam, CylindricalDiffuser, IsotropicPoint

    common = dict(power=spec.resolved_power_W(), wavelength=spec.wavelength_nm * _NM,
                  position=tuple(x * _MM for x in spec.position_mm), schedule=_schedule(spec.schedule),
                  name=spec.name)
    if spec.type == "collimated_beam":
        return CollimatedBeam(direction=tuple(spec.direction), radius=spec.radius_mm * _MM, profile=spec.profile,
                              **common)
    if spec.type == "isotropic_point":
        return IsotropicPoint(**common)
    return CylindricalDiffuser(direction=tuple(spec.direction), length=spec.length_mm * _MM, **common)


def _schedule(spec):
    from ..schedule import PowerSchedule

    if spec.type == "constant":
        stop = np.inf if spec.duration_s is None else spec.start_s + spec.duration_s
        return PowerSchedule.constant(spec.level, start=spec.start_s, stop=stop)
    if spec.type == "pulses":
        return PowerSchedule.pulses(on=spec.on_s, off=spec.off_s, count=spec.count, level=spec.level,
                                    start=spec.start_s)
    if spec.type == "ramp":
        return PowerSchedule.ramp(spec.start_s, spec.start_s + spec.duration_s, spec.level_start, spec.level_stop)
    if spec.type == "piecewise_linear":
        return PowerSchedule.piecewise_linear(spec.times_s, spec.levels)
    return PowerSchedule.constant(0.0)


def _boundary(spec):
    from ..bioheat import Convective, FixedTemperature, Insulated, Periodic

    if spec.type == "fixed_temperature":
        return FixedTemperature(spec.temperature_C)
    if spec.type == "convective":
        return Convective(spec.heat_transfer_coefficient_W_per_m2_per_K, spec.ambient_temperature_C)
    return Periodic() if spec.type == "periodic" else Insulated()


# -- photodynamic therapy ------------------------------------------------------------------------
def _sensitizer(ps):
    from ..pdt import Photosensitizer, photosensitizer
    from ..pdt.photosensitizers import BUILTIN_PHOTOSENSITIZERS

    params = ps.parameters()
    if ps.name.lower() in BUILTIN_PHOTOSENSITIZERS:
        return photosensitizer(ps.name, **params)
    return Photosensitizer(name=ps.name, references={k: "scenario" for k in params}, **params)


def _concentration_map(ps, labels, label_of):
    """Photosensitizer concentration [uM] per voxel: per tissue, else the default."""
    from ..pdt import concentration_by_label

    given = ps.concentration_uM or {}
    default = ps.default_concentration_uM or 0.0
    return concentration_by_label(labels, {label: given.get(name, default) for name, label in label_of.items()})


def _photodynamic(scenario, labels, label_of, light):
    ps = scenario.photosensitizer
    if ps is None:
        return None
    from ..pdt import PhotodynamicTherapy, SingletOxygenSurvival

    sensitizer = _sensitizer(ps)
    lit = [f for f in light if any(abs(f.source.wavelength - w) <= 1e-9 for w in sensitizer.wavelengths)]
    if not lit:
        return None
    return PhotodynamicTherapy(sensitizer, concentration_uM=_concentration_map(ps, labels, label_of), light=lit,
                               rtol=ps.rtol,
                               survival=None if ps.d0_uM is None else SingletOxygenSurvival(ps.d0_uM, "scenario: photosensitizer.d0_uM"))
