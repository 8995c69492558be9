"""Checks of a scenario that involve more than one value.

The pydantic models check each value on its own; these functions check how
values fit together and whether they are plausible, recording every problem
found in a :class:`~phototherm.errors.Problems`:

* grid: no extent for phantoms, whole numbers of voxels, plausibility of
  the spacing (at least 8 voxels per axis, at most 5 mm, at least 1 um: a
  unit mistake, with a hint), at most 2^30 voxels;
* geometry: layers thinner than the block, tumour or sphere inside it, phantom tissue
  names, a phantom size not given in metres, mesh files and tags;
* mesh files (:func:`check_files`, which reads them): files that exist, units the
  reader knows, tetrahedra and a tissue for every cell tag of the volume mesh, a grid
  from the meshes' bounding box that is plausible (else a hint at ``mesh_units``),
  sources and probes inside that box;
* tissues: names that belong to the geometry (with close matches), one
  thermal base, IT'IS names, paired keys; every tissue of the geometry has
  thermal and optical properties;
* nanoparticles, photosensitizer, sources: sizes in the models' ranges,
  exactly one concentration / power, wavelengths inside the data, powers and
  irradiances of plausible size (milliwatts written as watts), source
  positions inside (or on) the grid, a source at the sensitizer's wavelength;
  a source that failed validation still gets these value checks;
* temperatures (bioheat, boundaries, time-above threshold) in degrees Celsius,
  not kelvin;
* numerics: a step no longer than the run and giving at most 1e8 steps, an
  explicit step below the stability limit of the tissues, solver tolerances
  float32 can reach, Monte Carlo photons >= batches;
* structures, objectives, constraints, plan, outputs: references that exist,
  metric parameters that fit the metric, probes inside the grid.

:func:`check_scenario` accepts a whole :class:`~.schema.Scenario` or a
:class:`ScenarioParts` holding the sections that validated when others did
not, so a file with mistakes in several sections gets every problem in one
report.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

from pydantic import TypeAdapter, ValidationError

from ..errors import Problems
from .errors import NOT_GIVEN, did_you_mean, format_path
from .schema import (
    FACE_NAMES,
    PDT_OUTPUT_FIELDS,
    PDT_QUANTITIES,
    PHANTOM_TISSUE_DEFAULTS,
    CollimatedBeamSource,
    ConstantSchedule,
    CylindricalDiffuserSource,
    GaussianDistribution,
    GoldNanorodSpec,
    GoldNanoshellSpec,
    GoldSphereSpec,
    IsotropicPointSource,
    LayeredSlabGeometry,
    MeshGeometry,
    MouseFlankTumourGeometry,
    PeriodicBoundary,
    PiecewiseLinearSchedule,
    PulsesSchedule,
    RampSchedule,
    Scenario,
    SphereInBlockGeometry,
)

__all__ = [
    "ScenarioParts",
    "check_scenario",
    "check_files",
    "grid_box_mm",
    "geometry_tissues",
    "implicit_structures",
    "MIN_VOXELS_PER_AXIS",
    "MAX_PLAUSIBLE_SPACING_MM",
    "MIN_PLAUSIBLE_SPACING_MM",
    "MAX_VOXELS",
    "MIN_PLAUSIBLE_BLOCK_MM",
    "MAX_PLAUSIBLE_POWER_W",
    "MAX_PLAUSIBLE_IRRADIANCE_W_PER_CM2",
    "MAX_PLAUSIBLE_TEMPERATURE_C",
    "TISSUE_WAVELENGTH_RANGE_NM",
]

#: Fewer voxels than this along an axis is taken as a unit mistake in spacing_mm.
MIN_VOXELS_PER_AXIS = 8
#: A voxel larger than this [mm] resolves no tissue layer or tumour: likely the wrong unit.
MAX_PLAUSIBLE_SPACING_MM = 5.0
#: A voxel smaller than this [mm] (1 um) is likely a length given in metres.
MIN_PLAUSIBLE_SPACING_MM = 1e-3
#: A built-in phantom smaller than this along an axis [mm] is taken as a size given in metres.
MIN_PLAUSIBLE_BLOCK_MM = 1.0
#: Largest grid accepted (phototherm.phantoms.MAX_VOXELS).
MAX_VOXELS = 2**30
#: Wavelengths the tissue optical data cover [nm] (phototherm.tissues.spectra.WAVELENGTH_RANGE).
TISSUE_WAVELENGTH_RANGE_NM = (400.0, 1100.0)
#: Gold data (Johnson & Christy) [nm]; a calibrated rod's peak must lie where the search runs (450 nm up).
ROD_PEAK_RANGE_NM = (450.0, 1937.0)
#: A source power above this [W] is taken as a unit mistake (milliwatts written as watts).
MAX_PLAUSIBLE_POWER_W = 100.0
#: An irradiance above this [W/cm^2] is taken as milliwatts per cm^2 written as watts.
MAX_PLAUSIBLE_IRRADIANCE_W_PER_CM2 = 100.0
#: Temperatures above this [degC] are taken as kelvin written as degrees Celsius.
MAX_PLAUSIBLE_TEMPERATURE_C = 200.0
_SIZE_RTOL = 1e-6
_ON_FACE_RTOL = 1e-9


# -- access to the validated sections ------------------------------------------------------------
class ScenarioParts:
    """The sections of raw scenario data that validated on their own.

    Used to run the cross checks when some sections failed validation: a
    check that needs a failed section is skipped, the others run.
    """

    _LISTS = ("nanoparticles", "sources", "structures", "constraints")

    def __init__(self, data: dict) -> None:
        self.raw = data if isinstance(data, dict) else {}
        self._sections: dict[str, Any] = {}
        self._items: dict[str, dict[int, Any]] = {}
        self._complete: set[str] = set()
        self._failed: dict[str, dict[int, dict]] = {}
        self._item_types: dict[str, Any] = {}
        dummy = Scenario.model_construct()
        validator = Scenario.__pydantic_validator__
        for name, info in Scenario.model_fields.items():
            if name in self._LISTS:
                values = self.raw.get(name, [])
                if not isinstance(values, list):
                    continue
                item_type = _list_item_type(info.annotation)
                adapter = TypeAdapter(item_type)
                good = {}
                for i, value in enumerate(values):
                    try:
                        good[i] = adapter.validate_python(value)
                    except ValidationError:
                        pass
                self._items[name] = good
                self._failed[name] = {i: v for i, v in enumerate(values) if i not in good and isinstance(v, dict)}
                self._item_types[name] = item_type
                if name in self.raw or not info.is_required():
                    try:
                        validator.validate_assignment(dummy, name, values)
                    except ValidationError:
                        continue
                    self._complete.add(name)
                continue
            if name not in self.raw:
                if not info.is_required():
                    self._sections[name] = info.get_default(call_default_factory=True)
                continue
            try:
                validator.validate_assignment(dummy, name, self.raw[name])
            except ValidationError:
                continue
            self._sections[name] = getattr(dummy, name)

    def section(self, name: str) -> Any:
        return self._sections.get(name)

    def has(self, name: str) -> bool:
        return name in self._sections

    def items(self, name: str) -> list[tuple[int, Any]]:
        return sorted(self._items.get(name, {}).items())

    def complete(self, name: str) -> bool:
        return name in self._complete

    def raw_names(self, name: str, key: str = "name") -> list[str]:
        values = self.raw.get(name, [])
        if not isinstance(values, list):
            return []
        return [v.get(key) for v in values if isinstance(v, dict) and isinstance(v.get(key), str)]

    def failed_items(self, name: str) -> list[tuple[int, dict[str, Any]]]:
        """Items of a list section that failed validation, each with the fields that validate on their own.

        Lets a check run on the sound fields of an item that another mistake made invalid (a
        source with a negative power still gets its wavelength checked). Returns ``(index,
        {key: validated value})`` pairs; an item whose model cannot be told (unknown ``type``) has
        no fields.
        """
        out = []
        for i, raw in sorted(self._failed.get(name, {}).items()):
            out.append((i, _sound_fields(self._item_types[name], raw)))
        return out


class _Whole:
    """The same interface over a validated Scenario."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    def section(self, name: str) -> Any:
        return getattr(self.scenario, name)

    def has(self, name: str) -> bool:
        return True

    def items(self, name: str) -> list[tuple[int, Any]]:
        return list(enumerate(getattr(self.scenario, name)))

    def complete(self, name: str) -> bool:
        return True

    def raw_names(self, name: str, key: str = "name") -> list[str]:
        return [getattr(v, key) for v in getattr(self.scenario, name)]

    def failed_items(self, name: str) -> list[tuple[int, dict[str, Any]]]:
        return []


def _list_item_type(annotation: Any) -> Any:
    import typing

    tp = annotation
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return typing.get_args(tp)[0]


def _item_model(item_type: Any, raw: dict) -> Any:
    """The model class of a list item: the member of a tagged union its ``type`` names, or None."""
    import typing

    from pydantic import BaseModel

    tp = item_type
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    members = typing.get_args(tp) if typing.get_origin(tp) is typing.Union else (tp,)
    for member in members:
        if not (isinstance(member, type) and issubclass(member, BaseModel)):
            continue
        field = member.model_fields.get("type")
        if field is None:
            return member if len(members) == 1 else None
        if raw.get("type") in typing.get_args(field.annotation):
            return member
    return None


def _sound_fields(item_type: Any, raw: dict) -> dict[str, Any]:
    """``{key: validated value}`` for each key of ``raw`` that validates on its own."""
    model = _item_model(item_type, raw)
    if model is None:
        return {}
    dummy = model.model_construct()
    validator = model.__pydantic_validator__
    out = {}
    for key, value in raw.items():
        if key not in model.model_fields:
            continue
        try:
            validator.validate_assignment(dummy, key, value)
        except ValidationError:
            continue
        out[key] = getattr(dummy, key)
    return out


def _view(target) -> Any:
    return _Whole(target) if isinstance(target, Scenario) else target


# -- geometry helpers ------------------------------------------------------------------------------
def grid_box_mm(geometry: Any, grid: Any) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """``(origin, size)`` of the grid's bounding box [mm], or None where it is not known before the
    mesh is read."""
    if isinstance(geometry, (MouseFlankTumourGeometry, SphereInBlockGeometry)):
        return (0.0, 0.0, 0.0), tuple(geometry.size_mm)
    if isinstance(geometry, LayeredSlabGeometry):
        depth = _slab_depth(geometry)
        return None if depth is None else ((0.0, 0.0, 0.0), (*geometry.lateral_size_mm, depth))
    if isinstance(geometry, MeshGeometry) and grid is not None and grid.size_mm is not None:
        origin = grid.origin_mm if grid.origin_mm is not None else (0.0, 0.0, 0.0)
        return tuple(origin), tuple(grid.size_mm)
    return None


def _slab_depth(geometry: LayeredSlabGeometry) -> float | None:
    if geometry.depth_mm is not None:
        return geometry.depth_mm
    thicknesses = [layer.thickness_mm for layer in geometry.layers]
    return sum(thicknesses) if all(t is not None for t in thicknesses) else None


def geometry_tissues(geometry: Any) -> list[str] | None:
    """Tissue names the geometry holds, in label order (phantoms) or first use (meshes)."""
    if isinstance(geometry, MouseFlankTumourGeometry):
        return ["epidermis", "dermis", "fat", "muscle", "tumour"]
    if isinstance(geometry, LayeredSlabGeometry):
        return _unique(layer.tissue for layer in geometry.layers)
    if isinstance(geometry, SphereInBlockGeometry):
        return _unique([geometry.background, geometry.inclusion])
    if isinstance(geometry, MeshGeometry):
        return _unique([geometry.background, *geometry.tags.values(), *(s.tissue for s in geometry.surfaces)])
    return None


def implicit_structures(geometry: Any) -> dict[str, str]:
    """Structures available without a [[structures]] entry -> their default role.

    A built-in phantom's own structures; for a mesh, one structure per tissue name. A tumour
    (or a sphere's inclusion) is a target, everything else an organ at risk.
    """
    if isinstance(geometry, MouseFlankTumourGeometry):
        return {"tumour": "target", "skin": "organ_at_risk", "epidermis": "organ_at_risk",
                "dermis": "organ_at_risk", "fat": "organ_at_risk", "muscle": "organ_at_risk",
                "healthy": "organ_at_risk"}
    if isinstance(geometry, LayeredSlabGeometry):
        return {name: "organ_at_risk" for name in _unique(layer.tissue for layer in geometry.layers)}
    if isinstance(geometry, SphereInBlockGeometry):
        return {geometry.inclusion: "target", geometry.background: "organ_at_risk", "healthy": "organ_at_risk"}
    if isinstance(geometry, MeshGeometry):
        return {name: "target" if name == "tumour" else "organ_at_risk" for name in geometry_tissues(geometry)}
    return {}


def _unique(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        if name not in out:
            out.append(name)
    return out


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _box_text(box) -> str:
    origin, size = box
    return ", ".join(f"{a} {_fmt(o)}..{_fmt(o + s)}" for a, o, s in zip("xyz", origin, size)) + " mm"


# -- the checks ----------------------------------------------------------------------------------------
def check_scenario(target, problems: Problems | None = None) -> Problems:
    """Record every cross-field problem of a Scenario (or of ScenarioParts) and return the collector."""
    problems = Problems() if problems is None else problems
    p = _view(target)
    grid, geometry = p.section("grid"), p.section("geometry")
    box = grid_box_mm(geometry, grid) if geometry is not None else None
    if box is not None and not _check_block_size(geometry, box, problems):
        box = None  # a size in the wrong unit: checks against the box would only repeat it
    tissues_present = geometry_tissues(geometry) if geometry is not None else None
    _check_grid(grid, geometry, box, problems)
    if geometry is not None:
        _check_geometry(geometry, problems)
    _check_tissues(p, geometry, tissues_present, problems)
    _check_nanoparticles(p, tissues_present, box, problems)
    _check_sources(p, box, problems)
    _check_photosensitizer(p, tissues_present, problems)
    _check_light(p, problems)
    _check_boundaries(p, problems)
    _check_bioheat(p, problems)
    _check_numerics(p, tissues_present, problems)
    _check_structures(p, geometry, tissues_present, problems)
    _check_metrics(p, geometry, problems)
    _check_plan(p, problems)
    _check_outputs(p, box, problems)
    return problems


def check_files(target, base_dir, problems: Problems, *, unreadable: bool = False) -> None:
    """Record every problem with the mesh files a scenario names, found by reading them.

    A file that does not exist under ``base_dir``, a ``mesh_units`` the reader does not know,
    and, for files that can be read: a volume mesh without tetrahedra, a cell tag without a
    tissue in ``geometry.tags`` (or no tag array); where the grid takes its extent from the
    meshes' bounding box, a grid that a wrong ``mesh_units`` or ``spacing_mm`` makes
    implausible, and sources, probes or particle clouds outside that box.

    Parameters
    ----------
    target : Scenario or ScenarioParts
    base_dir : path
        Folder relative file names are taken from.
    problems : Problems
        Collector the problems are added to.
    unreadable : bool
        Also report a file that exists but cannot be read as a mesh. Off by default: a
        scenario may be loaded before its meshes are written; building it reads them.
    """
    p = _view(target)
    geometry = p.section("geometry")
    if not isinstance(geometry, MeshGeometry):
        return
    from ..io.meshes import LENGTH_UNITS

    base = Path(base_dir) if base_dir is not None else Path.cwd()
    # (key path, file name, key path of its unit, unit, is the volume mesh)
    named = [("geometry.file", geometry.file, "geometry.mesh_units", geometry.mesh_units, True)] \
        if geometry.file else []
    for i, surface in enumerate(geometry.surfaces):
        units_path = f"geometry.surfaces[{i}].mesh_units" if surface.mesh_units else "geometry.mesh_units"
        named.append((f"geometry.surfaces[{i}].file", surface.file, units_path,
                      surface.mesh_units or geometry.mesh_units, False))
    usable = True
    for path, name, _, _, _ in named:
        file = Path(name) if Path(name).is_absolute() else base / name
        if not file.is_file():
            usable = False
            problems.add(path, name, f"an existing mesh file (looked for {file}; paths are relative to the "
                                     "scenario file)")
    unknown_units = {units_path: units for _, _, units_path, units, _ in named if units not in LENGTH_UNITS}
    for units_path, units in unknown_units.items():
        usable = False
        problems.add(units_path, units, f"a length unit the mesh reader knows: one of "
                                        f"{', '.join(repr(u) for u in LENGTH_UNITS)}")
    if not usable:
        return
    facts = []
    for path, name, _, units, volume in named:
        file = Path(name) if Path(name).is_absolute() else base / name
        fact = _mesh_facts(file, units, geometry.tag_field if volume else None, volume)
        if fact["unreadable"] and not unreadable:
            usable = False
            continue
        if fact["error"] is not None:
            problems.add(path, name, f"a mesh file phototherm can use: {fact['error']}")
            usable = False
            continue
        if volume:
            _check_mesh_tags(geometry, fact, problems)
        facts.append(fact)
    if not usable:
        return
    lo = [min(f["lo_mm"][d] for f in facts) for d in range(3)]
    hi = [max(f["hi_mm"][d] for f in facts) for d in range(3)]
    grid = p.section("grid")
    if grid is None:
        return
    # a wrong unit is reported where the first file's unit is set
    units_path, units = named[0][2], named[0][3]
    hint = _units_hint(lo, hi, units, LENGTH_UNITS)
    if grid.size_mm is not None:
        box = grid_box_mm(geometry, grid)
        origin, size = box
        if hint:
            problems.add(units_path, units,
                         f"the unit of the mesh coordinates: read in {units} the mesh spans "
                         f"{_span_text(lo, hi)}, the grid {_box_text(box)}{hint}")
        elif not all(lo[d] < origin[d] + size[d] and hi[d] > origin[d] for d in range(3)):
            problems.add("grid.origin_mm", list(origin),
                         f"a grid overlapping the mesh: the grid covers {_box_text(box)}, the mesh spans "
                         f"{_span_text(lo, hi)} [mm]")
        return
    spacing = list(grid.spacing_mm)
    if max(spacing) > MAX_PLAUSIBLE_SPACING_MM or min(spacing) < MIN_PLAUSIBLE_SPACING_MM:
        return  # reported by the grid check
    counts = [max(1, math.ceil((hi[d] - lo[d]) / spacing[d] - 1e-9)) for d in range(3)]
    total = math.prod(counts)
    if min(counts) < MIN_VOXELS_PER_AXIS or total > MAX_VOXELS:
        what = (f"{' x '.join(str(c) for c in counts)} voxels of {_fmt(max(spacing))} mm for a mesh spanning "
                f"{_span_text(lo, hi)}")
        if hint:
            problems.add(units_path, units,
                         f"the unit of the mesh coordinates: read in {units} they give a grid of "
                         f"{what}{hint}")
        else:
            problems.add("grid.spacing_mm", spacing[0] if len(set(spacing)) == 1 else spacing,
                         f"a voxel size giving at least {MIN_VOXELS_PER_AXIS} voxels along each axis and at most "
                         f"{MAX_VOXELS} in all: this gives {what} (spacing_mm is in millimetres)")
        return
    box = (tuple(lo), tuple(c * h for c, h in zip(counts, spacing)))
    _check_positions(p, box, problems)


def _span_text(lo, hi) -> str:
    return ", ".join(f"{a} {_fmt(a0)}..{_fmt(a1)}" for a, a0, a1 in zip("xyz", lo, hi)) + " mm"


def _units_hint(lo, hi, units: str, known) -> str:
    """``"; if its coordinates are in mm (it would span 20 mm), write mesh_units = "mm""`` when other
    units give a plausible body part (largest extent 1-1000 mm) and this one does not, else ``""``.
    Every plausible unit is named, nearest to 30 mm (a small-animal body part) first."""
    extent_mm = max(b - a for a, b in zip(lo, hi))
    if 1.0 <= extent_mm <= 1000.0 or extent_mm <= 0:
        return ""
    raw = extent_mm / (known[units] * 1e3)  # the extent in the file's own numbers
    spans = {other: raw * known[other] * 1e3 for other in known if other != units}
    plausible = sorted((o for o, span in spans.items() if 1.0 <= span <= 1000.0),
                       key=lambda o: abs(math.log(spans[o] / 30.0)))
    if not plausible:
        return ""
    return "; if its coordinates are in " + " or ".join(
        f"{o} (it would span {_fmt(spans[o])} mm), write mesh_units = \"{o}\"" for o in plausible)


_MESH_FACTS: dict[tuple, dict] = {}


def _mesh_facts(file: Path, units: str, tag_field: str | None, volume: bool) -> dict:
    """Bounding box [mm] and cell tags of a mesh file, or the reason it cannot be used (memoised per file
    version: the scenario loader and the builder both ask)."""
    stat = file.stat()
    key = (str(file.resolve()), stat.st_mtime_ns, stat.st_size, units, tag_field, volume)
    if key not in _MESH_FACTS:
        _MESH_FACTS[key] = _read_mesh_facts(file, units, tag_field, volume)
    return _MESH_FACTS[key]


def _read_mesh_facts(file: Path, units: str, tag_field: str | None, volume: bool) -> dict:
    import numpy as np

    from ..errors import InputError
    from ..io.meshes import TAG_ARRAYS, read_mesh

    facts: dict[str, Any] = {"error": None, "unreadable": False, "file": file.name, "tags": None, "tag_field": None,
                             "tag_arrays": []}
    try:
        mesh = read_mesh(file, units=units)
    except InputError as exc:
        facts["error"] = "; ".join(f"{pr.expected}" for pr in exc.problems)
        facts["unreadable"] = True
        return facts
    points = np.asarray(mesh.points) * 1e3
    facts["lo_mm"], facts["hi_mm"] = points.min(axis=0).tolist(), points.max(axis=0).tolist()
    if not volume:
        return facts
    blocks = [k for k, block in enumerate(mesh.cells) if block.type in ("tetra", "tetra10")]  # as io.meshes
    if not blocks:
        facts["error"] = (f"a volume mesh with tetrahedra; it has {sorted({b.type for b in mesh.cells})} "
                          "(a surface belongs in [[geometry.surfaces]])")
        return facts
    facts["tag_arrays"] = sorted(mesh.cell_data)
    name = tag_field if tag_field is not None else next((n for n in TAG_ARRAYS if n in mesh.cell_data), None)
    if name is None or name not in mesh.cell_data:
        return facts
    values = np.concatenate([np.ravel(np.asarray(mesh.cell_data[name][k])) for k in blocks])
    if values.size and np.issubdtype(values.dtype, np.number) and np.all(np.isfinite(values)) \
            and np.all(np.round(values) == values):
        facts["tags"] = sorted(int(v) for v in np.unique(values))
    facts["tag_field"] = name
    return facts


def _check_mesh_tags(geometry, facts: dict, problems: Problems) -> None:
    """Every cell tag of the volume mesh has a tissue; the tag array exists."""
    from ..io.meshes import TAG_ARRAYS

    if facts["tag_field"] is None:
        arrays = ", ".join(facts["tag_arrays"]) or "none"
        if geometry.tag_field is not None:
            problems.add("geometry.tag_field", geometry.tag_field,
                         f"the name of an integer cell-data array of {facts['file']}: it has {arrays}")
        else:
            problems.add("geometry.tag_field", NOT_GIVEN,
                         f"the name of the cell-data array holding the tags of {facts['file']}: none of "
                         f"{', '.join(TAG_ARRAYS)} is there; it has {arrays}")
        return
    tags = facts["tags"]
    if tags is None:
        return  # not integers: reported when the mesh is voxelised
    given = {int(t) for t in geometry.tags if _is_int_text(t)}
    missing = [t for t in tags if t not in given]
    if missing:
        which = f"tag {missing[0]} has" if len(missing) == 1 else f"tags {', '.join(map(str, missing))} have"
        example = ", ".join(f'"{t}" = "..."' for t in missing[:3])
        problems.add("geometry.tags", dict(geometry.tags),
                     f"a tissue for every cell tag of {facts['file']} ({', '.join(map(str, tags))}): {which} none "
                     f"(add {example})")


def _check_positions(p, box, problems: Problems) -> None:
    """Sources, probes and Gaussian particle clouds inside a grid box known only once the meshes are read."""
    for i, source in p.items("sources"):
        _check_source_position(f"sources[{i}]", source, box, problems)
    outputs = p.section("outputs")
    if outputs is not None:
        for name, point in outputs.probes.items():
            problems.check(_inside(point, box), format_path(["outputs", "probes", name]), point,
                           f"a point inside the grid ({_box_text(box)}) [mm]")
    for i, spec in p.items("nanoparticles"):
        if isinstance(spec.distribution, GaussianDistribution):
            problems.check(_inside(spec.distribution.centre_mm, box), f"nanoparticles[{i}].distribution.centre_mm",
                           spec.distribution.centre_mm, f"a point inside the grid ({_box_text(box)})")


def _check_grid(grid, geometry, box, problems: Problems) -> None:
    if grid is None:
        return
    spacing = list(grid.spacing_mm)
    is_phantom = geometry is not None and not isinstance(geometry, MeshGeometry)
    if is_phantom:
        for key in ("origin_mm", "size_mm"):
            if getattr(grid, key) is not None:
                problems.add(f"grid.{key}", getattr(grid, key),
                             "to be left out: a built-in phantom starts at the origin and takes its size from "
                             "[geometry] (size_mm, or lateral_size_mm and depth_mm)")
    elif isinstance(geometry, MeshGeometry) and (grid.origin_mm is None) != (grid.size_mm is None):
        missing = "size_mm" if grid.size_mm is None else "origin_mm"
        problems.add(f"grid.{missing}", NOT_GIVEN, "a value: grid.origin_mm and grid.size_mm are given together "
                                                   "(or both left out for the mesh's bounding box) [mm]")
    shown = spacing[0] if spacing[0] == spacing[1] == spacing[2] else spacing
    largest, smallest = max(spacing), min(spacing)
    if largest > MAX_PLAUSIBLE_SPACING_MM:
        hint = (f"; if you meant {_fmt(largest / 1000)} mm ({_fmt(largest)} um), write {_fmt(largest / 1000)}"
                if largest >= 10 else "")
        problems.add("grid.spacing_mm", shown,
                     f"a voxel of at most {MAX_PLAUSIBLE_SPACING_MM:g} mm: spacing_mm is in millimetres and a "
                     f"larger voxel resolves no tissue layer or tumour{hint}")
        return
    if smallest < MIN_PLAUSIBLE_SPACING_MM:
        problems.add("grid.spacing_mm", shown,
                     f"a voxel of at least {MIN_PLAUSIBLE_SPACING_MM:g} mm (1 um): spacing_mm is in millimetres; "
                     f"if you gave metres, {_fmt(smallest)} m is {_fmt(smallest * 1000)} mm")
        return
    if box is None:
        return
    _, size = box
    counts = [s / h for s, h in zip(size, spacing)]
    worst = min(range(3), key=lambda d: counts[d])
    if counts[worst] < MIN_VOXELS_PER_AXIS:
        problems.add("grid.spacing_mm", shown,
                     f"a voxel size giving at least {MIN_VOXELS_PER_AXIS} voxels along each axis: "
                     f"{_fmt(size[worst])} mm / {_fmt(spacing[worst])} mm = {_fmt(counts[worst])} voxels along "
                     f"{'xyz'[worst]} (spacing_mm is in millimetres; a mouse tumour needs about 0.1-0.5 mm)")
        return
    _check_whole_voxels(geometry, grid, spacing, problems)
    total = math.prod(round(c) for c in counts)
    if total > MAX_VOXELS:
        problems.add("grid.spacing_mm", shown,
                     f"a grid of at most {MAX_VOXELS} voxels; this one has about {total:.3g} "
                     f"({' x '.join(str(round(c)) for c in counts)}): is spacing_mm in millimetres?")


def _check_block_size(geometry, box, problems: Problems) -> bool:
    """A built-in phantom at least 1 mm along each axis (a smaller one is a size given in metres)."""
    if isinstance(geometry, MeshGeometry):
        return True  # grid.size_mm: the spacing check covers it
    _, size = box
    if min(size) >= MIN_PLAUSIBLE_BLOCK_MM:
        return True
    if isinstance(geometry, LayeredSlabGeometry):
        key = "lateral_size_mm" if min(geometry.lateral_size_mm) < MIN_PLAUSIBLE_BLOCK_MM else (
            "depth_mm" if geometry.depth_mm is not None else "layers")
        value = getattr(geometry, key) if key != "layers" else size[2]
    else:
        key, value = "size_mm", list(geometry.size_mm)
    problems.add(f"geometry.{key}", value,
                 f"a phantom at least {MIN_PLAUSIBLE_BLOCK_MM:g} mm along each axis: lengths are in millimetres "
                 f"(if you gave metres, {_fmt(min(size))} m is {_fmt(min(size) * 1000)} mm) [mm]")
    return False


def _check_whole_voxels(geometry, grid, spacing, problems: Problems) -> None:
    def check(path: str, length: float, h: float) -> None:
        n = length / h
        if abs(n - round(n)) > _SIZE_RTOL * max(n, 1.0):
            problems.add(path, length, f"a whole number of voxels of {_fmt(h)} mm: {_fmt(length)} / {_fmt(h)} = "
                                       f"{n:.6g} (e.g. {_fmt(round(n) * h)} mm) [mm]")

    if isinstance(geometry, (MouseFlankTumourGeometry, SphereInBlockGeometry)):
        for d in range(3):
            check(f"geometry.size_mm[{d}]", geometry.size_mm[d], spacing[d])
    elif isinstance(geometry, LayeredSlabGeometry):
        for d in range(2):
            check(f"geometry.lateral_size_mm[{d}]", geometry.lateral_size_mm[d], spacing[d])
        depth = _slab_depth(geometry)
        if depth is not None:
            check("geometry.depth_mm" if geometry.depth_mm is not None else "geometry.layers", depth, spacing[2])
    elif isinstance(geometry, MeshGeometry) and grid.size_mm is not None:
        for d in range(3):
            check(f"grid.size_mm[{d}]", grid.size_mm[d], spacing[d])


def _inside(point, box, strict: bool = False) -> bool:
    origin, size = box
    if strict:
        return all(o < x < o + s for x, o, s in zip(point, origin, size))
    return all(o <= x <= o + s for x, o, s in zip(point, origin, size))


def _check_phantom_tissue(path: str, name: str, problems: Problems) -> None:
    known = list(PHANTOM_TISSUE_DEFAULTS)
    problems.check(name in PHANTOM_TISSUE_DEFAULTS, path, name,
                   f"a phantom tissue name: one of {', '.join(known)}{did_you_mean(name, known)}")


def _check_geometry(geometry, problems: Problems) -> None:
    if isinstance(geometry, MouseFlankTumourGeometry):
        layers = geometry.epidermis_thickness_mm + geometry.dermis_thickness_mm + geometry.fat_thickness_mm
        problems.check(layers < geometry.size_mm[2], "geometry.size_mm[2]", geometry.size_mm[2],
                       f"a depth greater than the epidermis, dermis and fat together ({_fmt(layers)} mm), "
                       "leaving room for muscle [mm]")
        centre = geometry.tumour_centre_mm
        key = "tumour_centre_mm"
        if centre is None:
            size = geometry.size_mm
            centre = [size[0] / 2, size[1] / 2, geometry.epidermis_thickness_mm + geometry.dermis_thickness_mm
                      + geometry.tumour_semi_axes_mm[2]]
            key = "tumour_semi_axes_mm"
        _check_ellipsoid_inside(f"geometry.{key}", centre, geometry.tumour_semi_axes_mm, geometry.size_mm,
                                "tumour", key == "tumour_centre_mm", problems)
    elif isinstance(geometry, LayeredSlabGeometry):
        last = len(geometry.layers) - 1
        for i, layer in enumerate(geometry.layers):
            _check_phantom_tissue(f"geometry.layers[{i}].tissue", layer.tissue, problems)
            if layer.thickness_mm is None and i < last:
                problems.add(f"geometry.layers[{i}].thickness_mm", NOT_GIVEN,
                             "a thickness [mm]: only the last layer may leave it out (it fills down to depth_mm)")
        open_last = geometry.layers[last].thickness_mm is None
        if open_last and geometry.depth_mm is None:
            problems.add("geometry.depth_mm", NOT_GIVEN,
                         "a depth [mm]: the last layer has no thickness, so the slab's depth must be given")
        elif not open_last and geometry.depth_mm is not None:
            total = sum(layer.thickness_mm for layer in geometry.layers)
            problems.check(abs(total - geometry.depth_mm) <= _SIZE_RTOL * geometry.depth_mm, "geometry.depth_mm",
                           geometry.depth_mm,
                           f"the sum of the layer thicknesses, {_fmt(total)} mm, or left out (or leave out the last "
                           "layer's thickness so that it fills the slab down to depth_mm) [mm]")
        elif open_last:
            above = sum(layer.thickness_mm for layer in geometry.layers[:last] if layer.thickness_mm is not None)
            problems.check(geometry.depth_mm > above, "geometry.depth_mm", geometry.depth_mm,
                           f"a depth greater than the layers above the last ({_fmt(above)} mm) [mm]")
    elif isinstance(geometry, SphereInBlockGeometry):
        _check_phantom_tissue("geometry.inclusion", geometry.inclusion, problems)
        _check_phantom_tissue("geometry.background", geometry.background, problems)
        problems.check(geometry.inclusion != geometry.background, "geometry.inclusion", geometry.inclusion,
                       "a tissue different from the background")
        centre = geometry.centre_mm if geometry.centre_mm is not None else [x / 2 for x in geometry.size_mm]
        key = "centre_mm" if geometry.centre_mm is not None else "radius_mm"
        _check_ellipsoid_inside(f"geometry.{key}", centre, [geometry.radius_mm] * 3, geometry.size_mm, "sphere",
                                key == "centre_mm", problems)
    elif isinstance(geometry, MeshGeometry):
        if geometry.file is None and not geometry.surfaces:
            problems.add("geometry.file", NOT_GIVEN,
                         "a volume mesh file, or at least one [[geometry.surfaces]] entry (mesh geometry needs a mesh)")
        if geometry.file is not None and not geometry.tags:
            problems.add("geometry.tags", {}, "a tissue for each cell tag of the volume mesh, e.g. "
                                              "tags = { \"1\" = \"muscle\", \"2\" = \"tumour\" }")
        if geometry.file is None:
            for key in ("tags", "tag_field"):
                if getattr(geometry, key):
                    problems.add(f"geometry.{key}", getattr(geometry, key),
                                 "to be left out without a volume mesh (geometry.file)")
        for tag in geometry.tags:
            problems.check(_is_int_text(tag), format_path(["geometry", "tags", tag]), tag,
                           "an integer cell tag as the key, e.g. \"1\"")


def _check_ellipsoid_inside(path: str, centre, semi, size, what: str, per_axis: bool, problems: Problems) -> None:
    """Require ``centre -/+ semi`` inside the block [0, size] on every axis, as the phantoms do.

    ``per_axis``: one problem per failing axis at ``path[d]`` (a given centre); else one at ``path``.
    """
    failing = []
    for d in range(3):
        lo, hi = centre[d] - semi[d], centre[d] + semi[d]
        if lo < -1e-9 * size[d] or hi > size[d] * (1 + 1e-9):
            failing.append(f"it spans {_fmt(lo)}..{_fmt(hi)} mm along {'xyz'[d]}, the block 0..{_fmt(size[d])} mm")
            if per_axis:
                problems.add(f"{path}[{d}]", centre[d], f"a {what} inside the block: {failing[-1]}")
    if failing and not per_axis:
        problems.add(path, semi if isinstance(semi, list) and len(set(semi)) > 1 else semi[0],
                     f"a {what} inside the block: {'; '.join(failing)}")


def _is_int_text(text: str) -> bool:
    try:
        int(text)
    except (TypeError, ValueError):
        return False
    return True


def _check_tissues(p, geometry, present: list[str] | None, problems: Problems) -> None:
    tissues = p.section("tissues")
    if tissues is None:
        return
    from ..tissues import BUILTIN_OPTICAL_TISSUES, BUILTIN_THERMAL_TISSUES, itis_names

    for name, spec in tissues.items():
        path = format_path(["tissues", name])
        if present is not None and name not in present:
            problems.add(path, name, f"a tissue of the geometry: one of {', '.join(present)}"
                                     f"{did_you_mean(name, present)}")
        if spec.thermal is not None and spec.itis is not None:
            problems.add(f"{path}.itis", spec.itis, "to be left out when thermal is given (one thermal base only)")
        if spec.itis is not None:
            names = itis_names()
            if spec.itis.lower() not in {n.lower() for n in names}:
                problems.add(f"{path}.itis", spec.itis,
                             f"a tissue name of the IT'IS v4.2 database{did_you_mean(spec.itis, names)}")
        for a, b in (("arrhenius_A_per_s", "arrhenius_Ea_J_per_mol"), ("rayleigh_fraction", "mie_power")):
            if (getattr(spec, a) is None) != (getattr(spec, b) is None):
                missing = a if getattr(spec, a) is None else b
                problems.add(f"{path}.{missing}", NOT_GIVEN, f"a value: {a} and {b} are given together")
    if present is None or not isinstance(geometry, MeshGeometry):
        return  # a phantom's tissue names all have defaults (an unknown name is reported with the geometry)
    for name in present:
        spec = tissues.get(name)
        defaults = PHANTOM_TISSUE_DEFAULTS.get(name)
        path = format_path(["tissues", name])
        thermal_ok = defaults is not None or (spec is not None and (
            spec.thermal is not None or spec.itis is not None
            or all(v is not None for v in (spec.density_kg_per_m3, spec.specific_heat_J_per_kg_per_K,
                                           spec.conductivity_W_per_m_per_K))))
        optical_ok = defaults is not None or (spec is not None and (
            spec.optical is not None or (spec.mua_per_cm is not None and spec.mus_per_cm is not None)))
        if not thermal_ok:
            problems.add(f"{path}.thermal", NOT_GIVEN,
                         f"thermal properties for tissue {name!r} of the geometry: thermal = one of "
                         f"{', '.join(BUILTIN_THERMAL_TISSUES)}, or itis = an IT'IS tissue name, or "
                         "density_kg_per_m3, specific_heat_J_per_kg_per_K and conductivity_W_per_m_per_K")
        if not optical_ok:
            problems.add(f"{path}.optical", NOT_GIVEN,
                         f"optical properties for tissue {name!r} of the geometry: optical = one of "
                         f"{', '.join(BUILTIN_OPTICAL_TISSUES)}, or mua_per_cm and mus_per_cm")


def _check_tissue_names(path: str, names: Iterable[str], present: list[str] | None, problems: Problems) -> None:
    if present is None:
        return
    for j, name in enumerate(names):
        problems.check(name in present, f"{path}[{j}]", name,
                       f"a tissue of the geometry: one of {', '.join(present)}{did_you_mean(name, present)}")


def _nm_hint(value: float) -> str:
    return f" (lengths here are in nanometres: {value:g} m would be {value * 1e9:g} nm)" if value < 1e-3 else ""


def _check_particle(path: str, particle, problems: Problems) -> None:
    from ..nanoparticles.particles import MAX_MIE_DIAMETER, MAX_ROD_ASPECT_RATIO, MAX_ROD_LENGTH, MIN_GOLD_DIMENSION

    lo, mie_hi, rod_hi = MIN_GOLD_DIMENSION * 1e9, MAX_MIE_DIAMETER * 1e9, MAX_ROD_LENGTH * 1e9

    def length(key: str, value: float, hi: float | None = None) -> bool:
        ok = value >= lo and (hi is None or value <= hi)
        span = f"{lo:g}-{hi:g} nm" if hi is not None else f"at least {lo:g} nm"
        return problems.check(ok, f"{path}.{key}", value, f"{span}{_nm_hint(value)}")

    if isinstance(particle, GoldSphereSpec):
        length("diameter_nm", particle.diameter_nm, mie_hi)
    elif isinstance(particle, GoldNanoshellSpec):
        ok = length("core_diameter_nm", particle.core_diameter_nm) & length("shell_thickness_nm",
                                                                           particle.shell_thickness_nm)
        outer = particle.core_diameter_nm + 2 * particle.shell_thickness_nm
        if ok:
            problems.check(outer <= mie_hi, f"{path}.shell_thickness_nm", particle.shell_thickness_nm,
                           f"an outer diameter (core + 2 shells = {outer:g} nm) of at most {mie_hi:g} nm")
    elif isinstance(particle, GoldNanorodSpec):
        ok = length("length_nm", particle.length_nm, rod_hi) & length("diameter_nm", particle.diameter_nm)
        if ok:
            ratio = particle.length_nm / particle.diameter_nm
            problems.check(1.0 <= ratio <= MAX_ROD_ASPECT_RATIO, f"{path}.length_nm", particle.length_nm,
                           f"an aspect ratio length/diameter of 1-{MAX_ROD_ASPECT_RATIO:g} "
                           f"(here {ratio:.3g})")
        if particle.peak_wavelength_nm is not None:
            lo_nm, hi_nm = ROD_PEAK_RANGE_NM
            value = particle.peak_wavelength_nm
            problems.check(lo_nm <= value <= hi_nm, f"{path}.peak_wavelength_nm", value,
                           f"a peak wavelength of {lo_nm:g}-{hi_nm:g} nm (Gans rods, gold data){_nm_hint(value)}")


def _check_nanoparticles(p, present, box, problems: Problems) -> None:
    names = p.raw_names("nanoparticles")
    for i, spec in p.items("nanoparticles"):
        path = f"nanoparticles[{i}]"
        if names.count(spec.name) > 1:
            problems.add(f"{path}.name", spec.name, "a name not used by another nanoparticle population")
        _check_particle(f"{path}.particle", spec.particle, problems)
        dist = spec.distribution
        given = [k for k in dist.CONCENTRATION_KEYS if getattr(dist, k) is not None]
        keys = ", ".join(dist.CONCENTRATION_KEYS)
        if isinstance(dist, GaussianDistribution):
            if dist.total_particles is not None:
                given.append("total_particles")
            if len(given) != 1:
                problems.add(f"{path}.distribution", given or NOT_GIVEN,
                             f"exactly one of total_particles (a count) or a peak concentration ({keys})")
            if box is not None:
                problems.check(_inside(dist.centre_mm, box), f"{path}.distribution.centre_mm", dist.centre_mm,
                               f"a point inside the grid ({_box_text(box)})")
            if dist.tissues is not None:
                _check_tissue_names(f"{path}.distribution.tissues", dist.tissues, present, problems)
        else:
            if len(given) != 1:
                what = "mean " if dist.type == "rim_enhanced" else ""
                problems.add(f"{path}.distribution", given or NOT_GIVEN,
                             f"exactly one {what}concentration: one of {keys}")
            _check_tissue_names(f"{path}.distribution.tissues", dist.tissues, present, problems)


def _wavelength_hint(value: float) -> str:
    if value < 1.0:
        return f" (wavelength_nm is in nanometres: {value:g} m would be {value * 1e9:g} nm)"
    if value < 10.0:
        return f" (wavelength_nm is in nanometres: {value:g} um would be {value * 1e3:g} nm)"
    return ""


def _check_sources(p, box, problems: Problems) -> None:
    names = p.raw_names("sources")
    numerics = p.section("numerics")
    for i, source in p.items("sources"):
        path = f"sources[{i}]"
        if names.count(source.name) > 1:
            problems.add(f"{path}.name", source.name, "a name not used by another source")
        _check_source_values(path, {k: getattr(source, k, None) for k in _SOURCE_VALUES}, problems)
        power_keys = ["power_W"]
        if isinstance(source, CollimatedBeamSource):
            power_keys += ["irradiance_W_per_cm2", "irradiance_mW_per_cm2"]
        given = [k for k in power_keys if getattr(source, k) is not None]
        if not given:
            problems.add(f"{path}.power_W", NOT_GIVEN,
                         "a power [W]" + (" (or irradiance_W_per_cm2 / irradiance_mW_per_cm2 on the beam axis)"
                                          if len(power_keys) > 1 else ""))
        elif len(given) > 1:
            problems.add(path, given, f"exactly one of {', '.join(power_keys)}")
        if isinstance(source, CollimatedBeamSource) and source.radius_mm == 0 and any(
                k.startswith("irradiance") for k in given):
            problems.add(f"{path}.radius_mm", 0.0, "a radius > 0 [mm] to turn an irradiance into a power "
                                                   "(a pencil beam has no area); or give power_W")
        if hasattr(source, "direction"):
            problems.check(any(c != 0 for c in source.direction), f"{path}.direction", source.direction,
                           "a non-zero direction vector")
        if box is not None:
            _check_source_position(path, source, box, problems)
        _check_schedule(f"{path}.schedule", source.schedule, numerics, problems)
    for i, fields in p.failed_items("sources"):
        # the source is invalid for another reason: check the values that are sound on their own
        _check_source_values(f"sources[{i}]", fields, problems)


#: Source keys checked on their own (also on a source that failed validation for another key).
_SOURCE_VALUES = ("wavelength_nm", "power_W", "irradiance_W_per_cm2")


def _check_source_values(path: str, values: dict[str, Any], problems: Problems) -> None:
    """Wavelength inside the tissue data; powers and irradiances of plausible magnitude (None: not given)."""
    lo_nm, hi_nm = TISSUE_WAVELENGTH_RANGE_NM
    wl = values.get("wavelength_nm")
    if wl is not None:
        problems.check(lo_nm <= wl <= hi_nm, f"{path}.wavelength_nm", wl,
                       f"a wavelength of {lo_nm:g}-{hi_nm:g} nm, the range of the tissue optical data"
                       f"{_wavelength_hint(wl)}")
    power = values.get("power_W")
    if power is not None and power > MAX_PLAUSIBLE_POWER_W:
        problems.add(f"{path}.power_W", power,
                     f"a power of at most {MAX_PLAUSIBLE_POWER_W:g} W: power_W is in watts (if you meant "
                     f"{_fmt(power)} mW, write {_fmt(power / 1000)}) [W]")
    irradiance = values.get("irradiance_W_per_cm2")
    if irradiance is not None and irradiance > MAX_PLAUSIBLE_IRRADIANCE_W_PER_CM2:
        problems.add(f"{path}.irradiance_W_per_cm2", irradiance,
                     f"an irradiance of at most {MAX_PLAUSIBLE_IRRADIANCE_W_PER_CM2:g} W/cm^2: this key is in "
                     f"W/cm^2 (if you meant {_fmt(irradiance)} mW/cm^2, write irradiance_mW_per_cm2 = "
                     f"{_fmt(irradiance)}) [W/cm^2]")


def _check_source_position(path: str, source, box, problems: Problems) -> None:
    origin, size = box
    if isinstance(source, IsotropicPointSource):
        problems.check(_inside(source.position_mm, box, strict=True), f"{path}.position_mm", source.position_mm,
                       f"a point strictly inside the grid ({_box_text(box)})")
        return
    norm = math.sqrt(sum(c * c for c in source.direction))
    if norm == 0:
        return
    u = [c / norm for c in source.direction]
    if isinstance(source, CylindricalDiffuserSource):
        half = 0.5 * source.length_mm
        for which, sign in (("start", -1.0), ("end", 1.0)):
            end = [x + sign * half * c for x, c in zip(source.position_mm, u)]
            if not _inside(end, box, strict=True):
                problems.add(f"{path}.position_mm", source.position_mm,
                             f"a diffuser whose {which} (position -/+ length/2 along direction = "
                             f"[{', '.join(_fmt(v) for v in end)}] mm) lies strictly inside the grid "
                             f"({_box_text(box)})")
                break
        return
    # collimated beam: on a face, pointing in, footprint on the face
    tol = _ON_FACE_RTOL * max(size) + 1e-12
    candidates = []
    for axis in range(3):
        for side, plane in ((0, origin[axis]), (1, origin[axis] + size[axis])):
            others = all(origin[d] - tol <= source.position_mm[d] <= origin[d] + size[d] + tol
                         for d in range(3) if d != axis)
            if abs(source.position_mm[axis] - plane) <= tol and others:
                inward = (1.0 if side == 0 else -1.0) * u[axis]
                candidates.append((inward, axis, side))
    if not candidates:
        problems.add(f"{path}.position_mm", source.position_mm,
                     f"a point on a face of the grid's bounding box ({_box_text(box)}): a collimated beam starts "
                     "where it enters the tissue, e.g. z = 0 on the skin")
        return
    cosine, axis, side = max(candidates)
    face = f"{'xyz'[axis]}_{'min' if side == 0 else 'max'}"
    if cosine <= 1e-6:
        problems.add(f"{path}.direction", source.direction,
                     f"a direction pointing into the grid through its {face} face")
        return
    reach = source.radius_mm / cosine
    fits = all(origin[d] - 1e-9 <= source.position_mm[d] - reach and
               source.position_mm[d] + reach <= origin[d] + size[d] + 1e-9 for d in range(3) if d != axis)
    problems.check(fits, f"{path}.radius_mm", source.radius_mm,
                   f"a beam footprint (radius / cos(incidence) = {_fmt(reach)} mm about the position) inside the "
                   f"{face} face ({_box_text(box)})")


def _check_schedule(path: str, schedule, numerics, problems: Problems) -> None:
    if isinstance(schedule, PiecewiseLinearSchedule):
        if len(schedule.times_s) != len(schedule.levels):
            problems.add(f"{path}.levels", schedule.levels,
                         f"one level per time ({len(schedule.times_s)} times, {len(schedule.levels)} levels)")
        if any(b < a for a, b in zip(schedule.times_s, schedule.times_s[1:])):
            problems.add(f"{path}.times_s", schedule.times_s, "non-decreasing times [s]")
        start = schedule.times_s[0]
    elif isinstance(schedule, (ConstantSchedule, PulsesSchedule, RampSchedule)):
        start = schedule.start_s
    else:
        return
    if numerics is not None and start >= numerics.stop_time_s:
        key = "times_s" if isinstance(schedule, PiecewiseLinearSchedule) else "start_s"
        problems.add(f"{path}.{key}", start, f"a start before numerics.stop_time_s = {_fmt(numerics.stop_time_s)} s "
                                             "(the source would never be on; use type = \"off\" for that) [s]")


def _check_photosensitizer(p, present, problems: Problems) -> None:
    spec = p.section("photosensitizer")
    if spec is None:
        return
    from ..errors import InputError
    from ..pdt.photosensitizers import BUILTIN_PHOTOSENSITIZERS, photosensitizer

    try:
        builtin = photosensitizer(spec.name)  # case-insensitive, with the library's aliases
    except InputError:
        builtin = None
    if builtin is None:
        missing = [k for k in spec.PARAMETERS if getattr(spec, k) is None]
        if missing:
            problems.add("photosensitizer.name", spec.name,
                         f"a built-in photosensitizer ({', '.join(BUILTIN_PHOTOSENSITIZERS)})"
                         f"{did_you_mean(spec.name, BUILTIN_PHOTOSENSITIZERS)} or a user-defined one with every "
                         f"parameter; missing: {', '.join(missing)}")
        wavelengths = spec.wavelengths_nm or []
        extinction = spec.extinction_per_cm_per_uM or []
    else:
        wavelengths = spec.wavelengths_nm or [w * 1e9 for w in builtin.wavelengths]
        extinction = spec.extinction_per_cm_per_uM or [e / 100.0 for e in builtin.extinction]
    lo_nm, hi_nm = TISSUE_WAVELENGTH_RANGE_NM
    for j, wl in enumerate(spec.wavelengths_nm or []):
        problems.check(lo_nm <= wl <= hi_nm, f"photosensitizer.wavelengths_nm[{j}]", wl,
                       f"a treatment wavelength of {lo_nm:g}-{hi_nm:g} nm{_wavelength_hint(wl)}")
    ordered = sorted(wavelengths)
    if any(b - a < 1.0 for a, b in zip(ordered, ordered[1:])):
        problems.add("photosensitizer.wavelengths_nm", wavelengths, "wavelengths at least 1 nm apart")
    if wavelengths and extinction and len(wavelengths) != len(extinction):
        problems.add("photosensitizer.extinction_per_cm_per_uM", extinction,
                     f"one value per treatment wavelength ({len(wavelengths)} wavelengths, {len(extinction)} values)")
    if present is not None:
        for name in spec.concentration_uM:
            problems.check(name in present, format_path(["photosensitizer", "concentration_uM", name]), name,
                           f"a tissue of the geometry: one of {', '.join(present)}{did_you_mean(name, present)}")
    if wavelengths and p.complete("sources"):
        source_wl = [s.wavelength_nm for _, s in p.items("sources")]
        if not any(abs(s - w) <= 1.0 for s in source_wl for w in wavelengths):
            problems.add("sources", [f"{w:g} nm" for w in source_wl],
                         f"at least one source at a treatment wavelength of {spec.name!r} "
                         f"({', '.join(f'{w:g} nm' for w in wavelengths)}, within 1 nm) to drive the photodynamic "
                         "reaction")


def _check_light(p, problems: Problems) -> None:
    light = p.section("light")
    if light is not None and light.method == "monte-carlo":
        problems.check(light.photons >= light.batches, "light.photons", light.photons,
                       f"at least as many photon packets as batches ({light.batches})")


def _check_boundaries(p, problems: Problems) -> None:
    boundaries = p.section("boundaries")
    if boundaries is None:
        return
    for axis in "xyz":
        lo, hi = boundaries.face(f"{axis}_min"), boundaries.face(f"{axis}_max")
        if isinstance(lo, PeriodicBoundary) != isinstance(hi, PeriodicBoundary):
            problems.add(f"boundaries.{axis}_min/{axis}_max", (lo.type, hi.type),
                         "both faces of an axis periodic, or neither")
    for face in ("default", *FACE_NAMES):
        spec = getattr(boundaries, face)
        for key in ("temperature_C", "ambient_temperature_C"):
            if spec is not None and hasattr(spec, key):
                _check_temperature(f"boundaries.{face}.{key}", getattr(spec, key), problems)


def _check_temperature(path: str, value: float | None, problems: Problems) -> None:
    """A temperature in degrees Celsius, not kelvin: at least absolute zero, at most 200 degC."""
    if value is None:
        return
    if value > MAX_PLAUSIBLE_TEMPERATURE_C:
        problems.add(path, value, f"a temperature of at most {MAX_PLAUSIBLE_TEMPERATURE_C:g} degC: temperatures "
                                  f"are in degrees Celsius ({_fmt(value)} K would be {_fmt(value - 273.15)} degC) "
                                  "[degC]")
    elif value < -273.15:
        problems.add(path, value, "a temperature above absolute zero, -273.15 degC [degC]")


def _check_bioheat(p, problems: Problems) -> None:
    bioheat = p.section("bioheat")
    if bioheat is None:
        return
    for key in ("arterial_temperature_C", "initial_temperature_C"):
        _check_temperature(f"bioheat.{key}", getattr(bioheat, key), problems)
    if bioheat.initial_state == "steady_state" and bioheat.initial_temperature_C is not None:
        problems.add("bioheat.initial_temperature_C", bioheat.initial_temperature_C,
                     "to be left out unless initial_state = \"uniform\" (the steady state sets its own temperatures)")


#: Smallest solver tolerance float32 arithmetic can reach (it stalls near 1e-7 relative residual).
FLOAT32_MIN_RTOL = 1e-6
#: More time steps than this is taken as a unit mistake in dt_s or stop_time_s.
MAX_STEPS = 10**8


def _check_numerics(p, present, problems: Problems) -> None:
    numerics = p.section("numerics")
    if numerics is None:
        return
    _check_temperature("numerics.time_above_threshold_C", numerics.time_above_threshold_C, problems)
    single = numerics.dtype == "float32" or (numerics.dtype is None and numerics.device == "gpu")
    if single:
        light = p.section("light")
        for path, value in (("numerics.cg_rtol", numerics.cg_rtol),
                            ("light.diffusion_rtol", light.diffusion_rtol if light is not None else None)):
            if value is not None:
                problems.check(value >= FLOAT32_MIN_RTOL, path, value,
                               f"a tolerance of at least {FLOAT32_MIN_RTOL:g} in float32 (its rounding stalls "
                               "near 1e-7), or dtype = \"float64\"")
    if numerics.dt_s is None:
        return
    if numerics.stop_time_s / numerics.dt_s > MAX_STEPS:
        problems.add("numerics.dt_s", numerics.dt_s,
                     f"a step giving at most {MAX_STEPS:.0e} steps to stop_time_s = {_fmt(numerics.stop_time_s)} s "
                     f"(this gives {numerics.stop_time_s / numerics.dt_s:.3g}); times are in seconds [s]")
        return
    if numerics.dt_s > numerics.stop_time_s:
        problems.add("numerics.dt_s", numerics.dt_s,
                     f"a step no longer than the run, stop_time_s = {_fmt(numerics.stop_time_s)} s [s]")
        return
    if numerics.stepper != "explicit":
        return
    grid, tissues, bioheat = p.section("grid"), p.section("tissues"), p.section("bioheat")
    if grid is None or tissues is None or bioheat is None or present is None:
        return
    limit = _explicit_limit_s(grid.spacing_mm, present, tissues, bioheat)
    if limit is not None and numerics.dt_s > limit:
        problems.add("numerics.dt_s", numerics.dt_s,
                     f"at most about {limit:.3g} s, the explicit stability limit of the slowest-reacting tissue at "
                     f"this spacing (boundaries and interfaces lower it further); use a smaller step, or "
                     "stepper = \"backward-euler\" or \"crank-nicolson\" [s]")


def _explicit_limit_s(spacing_mm, present, tissues, bioheat) -> float | None:
    """The most lenient per-tissue explicit limit [s]: a step above it is unstable in every tissue."""
    from ..errors import InputError
    from ..tissues import itis_tissue, thermal_tissue

    inv_h2 = sum(1.0 / (h * 1e-3) ** 2 for h in spacing_mm)
    blood = bioheat.blood_density_kg_per_m3 * bioheat.blood_specific_heat_J_per_kg_per_K
    limits = []
    for name in present:
        spec = tissues.get(name)
        try:
            if spec is not None and spec.itis is not None:
                base = itis_tissue(spec.itis)
            elif spec is not None and spec.thermal is not None:
                base = thermal_tissue(spec.thermal)
            elif name in PHANTOM_TISSUE_DEFAULTS:
                base = thermal_tissue(PHANTOM_TISSUE_DEFAULTS[name][0])
            else:
                base = None
        except InputError:
            return None
        values = {"density": None, "specific_heat": None, "conductivity": None, "perfusion": 0.0}
        if base is not None:
            values.update(density=base.density, specific_heat=base.specific_heat, conductivity=base.conductivity,
                          perfusion=base.perfusion)
        if spec is not None:
            values.update(spec.thermal_overrides())
        if any(values[k] is None for k in ("density", "specific_heat", "conductivity")):
            return None
        rate = (2.0 * values["conductivity"] * inv_h2 + values["perfusion"] * blood) / (
            values["density"] * values["specific_heat"])
        limits.append(1.0 / rate)
    return max(limits) if limits else None


def _check_structures(p, geometry, present, problems: Problems) -> None:
    names = p.raw_names("structures")
    for i, spec in p.items("structures"):
        path = f"structures[{i}]"
        if names.count(spec.name) > 1:
            problems.add(f"{path}.name", spec.name, "a name not used by another structure")
        if (spec.tissues is None) == (spec.mesh_tags is None):
            problems.add(path, [k for k in ("tissues", "mesh_tags") if getattr(spec, k) is not None] or NOT_GIVEN,
                         "exactly one of tissues (tissue names) or mesh_tags (cell tags of a mesh geometry)")
        if spec.tissues is not None:
            _check_tissue_names(f"{path}.tissues", spec.tissues, present, problems)
        if spec.mesh_tags is not None and geometry is not None:
            if not isinstance(geometry, MeshGeometry) or geometry.file is None:
                problems.add(f"{path}.mesh_tags", spec.mesh_tags,
                             "to be left out: mesh_tags need a mesh geometry with a volume mesh (use tissues)")
            else:
                known = sorted(int(t) for t in geometry.tags if _is_int_text(t))
                for j, tag in enumerate(spec.mesh_tags):
                    problems.check(tag in known, f"{path}.mesh_tags[{j}]", tag,
                                   f"a cell tag listed in geometry.tags: one of {known}")


def _check_metrics(p, geometry, problems: Problems) -> None:
    defined = p.raw_names("structures")
    builtin = list(implicit_structures(geometry)) if geometry is not None else []
    known = _unique([*defined, *builtin])
    structures_known = p.complete("structures") and geometry is not None
    ps = p.section("photosensitizer")
    pdt_known = p.has("photosensitizer") or "photosensitizer" not in getattr(p, "raw", {})
    goals = [("objective", p.section("objective"))] if p.section("objective") is not None else []
    goals += [(f"constraints[{i}]", spec) for i, spec in p.items("constraints")]
    for path, spec in goals:
        if structures_known and spec.structure not in known:
            problems.add(f"{path}.structure", spec.structure,
                         f"a structure defined in [[structures]] or provided by the geometry: one of "
                         f"{', '.join(known) or '(none)'}{did_you_mean(spec.structure, known)}")
        if spec.quantity in PDT_QUANTITIES and pdt_known:
            if ps is None:
                problems.add(f"{path}.quantity", spec.quantity,
                             f"a thermal or light quantity: {spec.quantity} needs a [photosensitizer]")
            elif spec.quantity.endswith("surviving_fraction") and spec.quantity != "thermal_surviving_fraction" \
                    and ps.d0_uM is None:
                problems.add(f"{path}.quantity", spec.quantity,
                             f"a quantity this scenario produces: {spec.quantity} needs photosensitizer.d0_uM "
                             "(the PDT cell-kill dose, none is built in)")
        if spec.metric == "V":
            if spec.threshold is None:
                problems.add(f"{path}.threshold", NOT_GIVEN,
                             f"a threshold for metric V, in the unit of {spec.quantity}")
        elif spec.threshold is not None:
            problems.add(f"{path}.threshold", spec.threshold, "to be left out: threshold is for metric V only")
        if spec.metric == "D":
            if spec.volume_fraction is None:
                problems.add(f"{path}.volume_fraction", NOT_GIVEN,
                             "a volume fraction for metric D (0.95 for D95) [0-1]")
        elif spec.volume_fraction is not None:
            problems.add(f"{path}.volume_fraction", spec.volume_fraction,
                         "to be left out: volume_fraction is for metric D only")
        if path == "objective":
            continue
        if spec.at_least is None and spec.at_most is None:
            problems.add(f"{path}.at_most", NOT_GIVEN, "a limit: at_most, at_least or both")
        elif spec.at_least is not None and spec.at_most is not None and spec.at_least > spec.at_most:
            problems.add(f"{path}.at_least", spec.at_least, f"at most at_most = {spec.at_most:g}")
        if spec.metric == "V":
            for key in ("at_least", "at_most"):
                value = getattr(spec, key)
                if value is not None:
                    problems.check(0.0 <= value <= 1.0, f"{path}.{key}", value,
                                   "a volume fraction 0-1 (metric V is the fraction of the structure reaching "
                                   "the threshold)")


def _check_plan(p, problems: Problems) -> None:
    plan = p.section("plan")
    if plan is None:
        return
    if p.has("objective") and p.section("objective") is None:
        problems.add("objective", NOT_GIVEN, "an [objective] table for the [plan] to optimise")
    names = p.raw_names("sources")
    numerics = p.section("numerics")
    seen: list[str] = []
    for i, item in enumerate(plan.sources):
        path = f"plan.sources[{i}]"
        if p.complete("sources") and item.source not in names:
            problems.add(f"{path}.source", item.source,
                         f"the name of a source: one of {', '.join(names)}{did_you_mean(item.source, names)}")
        if item.source in seen:
            problems.add(f"{path}.source", item.source, "a source not already listed in plan.sources")
        seen.append(item.source)
        _check_bounds(f"{path}.power_W", item.power_W, problems)
    if plan.exposure_time_s is not None:
        _check_bounds("plan.exposure_time_s", plan.exposure_time_s, problems)
        problems.check(plan.exposure_time_s[1] > 0, "plan.exposure_time_s", plan.exposure_time_s,
                       "bounds with a positive maximum [s]")
        if numerics is not None and plan.fractionation is None:
            problems.check(plan.start_s + plan.exposure_time_s[0] <= numerics.stop_time_s, "plan.exposure_time_s",
                           plan.exposure_time_s,
                           f"an exposure that can end by numerics.stop_time_s = {_fmt(numerics.stop_time_s)} s "
                           f"(starting at plan.start_s = {_fmt(plan.start_s)} s) [s]")
    elif plan.fractionation is not None:
        problems.add("plan.exposure_time_s", NOT_GIVEN,
                     "bounds [min, max] of the exposure time [s]: fractionation splits a planned exposure")
    if numerics is not None:
        problems.check(plan.start_s < numerics.stop_time_s, "plan.start_s", plan.start_s,
                       f"a time before numerics.stop_time_s = {_fmt(numerics.stop_time_s)} s [s]")


def _check_bounds(path: str, bounds, problems: Problems) -> None:
    problems.check(bounds[0] <= bounds[1], path, list(bounds), "bounds [min, max] with min <= max")


def _check_outputs(p, box, problems: Problems) -> None:
    outputs = p.section("outputs")
    if outputs is None:
        return
    if box is not None:
        for name, point in outputs.probes.items():
            problems.check(_inside(point, box), format_path(["outputs", "probes", name]), point,
                           f"a point inside the grid ({_box_text(box)}) [mm]")
    pdt_known = p.has("photosensitizer") or "photosensitizer" not in getattr(p, "raw", {})
    has_pdt = p.section("photosensitizer") is not None
    bioheat = p.section("bioheat")
    for j, name in enumerate(outputs.fields or []):
        if name in PDT_OUTPUT_FIELDS and pdt_known and not has_pdt:
            problems.add(f"outputs.fields[{j}]", name, "a field this scenario produces: PDT fields need a "
                                                       "[photosensitizer]")
        if name == "perfusion_per_s" and bioheat is not None and bioheat.vascular_shutdown is None:
            problems.add(f"outputs.fields[{j}]", name,
                         "a field this scenario produces: perfusion_per_s needs [bioheat.vascular_shutdown]")
