"""The bad-input catalogue (issue 5, item 9): malformed scenarios run through the CLI as a user would.

Each case is a small mutation of a valid, coarse copy of the ``ptt_demo``
example (1 mm voxels, 20 s simulated, no plan: a valid run takes about a
second), written to a scratch folder as TOML and run with
``phototherm run FILE --out results --quiet`` in a subprocess. Every case must

* exit with status 2, with no traceback anywhere;
* print one ``phototherm: error:`` line per problem under the context line,
  and exactly the problems the case lists: each one's key path at the start of
  its line and a phrase of its expectation on that line (so a case with
  several mistakes checks that every one is reported together);
* leave no results folder, and no hidden staging folder beside it
  (``.results.partial-*``, ``.results.old-*``, ``.results.tmp-*``, see
  :mod:`phototherm.io.atomic`); where the destination already existed, leave it
  as it was.

A subset also goes through ``phototherm check FILE``, which must refuse
the problems it can see without building anything.

Plan cases (``[plan]``, ``[objective]``, infeasible constraints) are added
separately; the base here has no plan so that they can bring their own.
"""

from __future__ import annotations

import copy
import math
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import tomli_w

from phototherm.backend import gpu_status
from phototherm.scenario import example_scenario_path
from tests.cli.test_cli import run_cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
MESHES = REPO / "meshes"
NAN, INF = math.nan, math.inf


# -- the valid base scenarios --------------------------------------------------------------------------
def _coarse_ptt_demo() -> dict:
    """ptt_demo at 1 mm, 20 s (10 s of light), no plan, snapshots or figures: a valid run takes ~1 s."""
    data = tomllib.loads(example_scenario_path("ptt_demo").read_text(encoding="utf-8"))
    for key in ("objective", "constraints", "plan"):
        data.pop(key, None)
    data["grid"]["spacing_mm"] = 1.0
    data["numerics"]["stop_time_s"] = 20.0
    data["sources"][0]["schedule"]["duration_s"] = 10.0
    data["outputs"].pop("snapshot_interval_s", None)
    data["outputs"].update(figures=False, report=False)
    return data


_BASE = _coarse_ptt_demo()


def base() -> dict:
    return copy.deepcopy(_BASE)


def mesh_base(folder: Path) -> dict:
    """The same treatment on the tagged tetrahedral block of meshes/ (20 x 20 x 12 mm), copied to ``folder``."""
    shutil.copy(MESHES / "flank_block.vtu", folder / "flank_block.vtu")
    data = base()
    data["geometry"] = {"type": "mesh", "file": "flank_block.vtu", "mesh_units": "mm", "background": "muscle",
                        "tags": {"1": "dermis", "2": "fat", "3": "muscle", "4": "tumour"}}
    data["sources"][0]["position_mm"] = [10.0, 10.0, 0.0]
    data["outputs"]["probes"] = {"tumour_centre": [10.0, 10.0, 3.4]}
    return data


# -- the cases -------------------------------------------------------------------------------------
@dataclass
class Case:
    """One malformed scenario.

    Attributes
    ----------
    id : str
        Readable test id.
    mutate : callable(data, folder)
        Breaks the base scenario ``data`` in place (``folder`` is the scratch folder, for files).
    problems : list of (key path, phrase)
        Every problem that must be reported, and only those: the error line starting with the key path
        contains the phrase.
    base : callable(folder) -> dict
        The valid scenario the case starts from.
    destination : "new", "file" or "folder"
        What exists at the results path beforehand: nothing, a file, or an earlier result.
    text : callable(toml text) -> str, optional
        Edits the written TOML text (syntax errors).
    args : list of str, optional
        Replaces the default ``run scenario.toml --out results --quiet``.
    check : bool
        Also refused by ``phototherm check`` (with the same problems).
    """

    id: str
    mutate: Callable[[dict, Path], None]
    problems: list[tuple[str, str]]
    base: Callable[[Path], dict] = lambda folder: base()
    destination: str = "new"
    text: Callable[[str], str] | None = None
    args: list[str] | None = None
    check: bool = False
    marks: list = field(default_factory=list)


#: Value of a ``put`` change that removes the key.
DELETE = object()


def put(*changes) -> Callable[[dict, Path], None]:
    """Mutation setting ``(path, value)`` pairs; a value of ``DELETE`` removes the key."""
    def mutate(data: dict, folder: Path) -> None:
        for path, value in changes:
            *parents, last = path
            node = data
            for key in parents:
                node = node[key]
            if value is DELETE:
                del node[last]
            else:
                node[last] = value
    return mutate


def rename(path: tuple, new: str) -> Callable[[dict, Path], None]:
    """Mutation renaming the key at ``path`` to ``new`` (a typo)."""
    def mutate(data: dict, folder: Path) -> None:
        *parents, last = path
        node = data
        for key in parents:
            node = node[key]
        node[new] = node.pop(last)
    return mutate


def both(*mutations) -> Callable[[dict, Path], None]:
    """The mutations one after the other."""
    def mutate(data: dict, folder: Path) -> None:
        for m in mutations:
            m(data, folder)
    return mutate


SRC = ("sources", 0)
NANO = ("nanoparticles", 0)
PHOTOFRIN = {"name": "photofrin", "concentration_uM": {"tumour": 7.0}}


CASES = [
    # -- unknown keys (did you mean) and missing ones ----------------------------------------------------
    Case("unknown-key-typo", rename(("grid", "spacing_mm"), "spacing"),
         [("grid.spacing", "did you mean 'spacing_mm'"), ("grid.spacing_mm", "required")], check=True),
    Case("unknown-section-typo", rename(("numerics",), "numeric"),
         [("numeric", "did you mean 'numerics'"), ("numerics", "required")]),
    Case("unknown-source-key", rename(SRC + ("power_W",), "powr_W"),
         [("sources[0].powr_W", "did you mean 'power_W'")]),
    Case("missing-section", put((("sources",), DELETE)), [("sources", "required")]),
    Case("wrong-format-version", put((("phototherm_scenario",), 2)), [("phototherm_scenario", "format version")]),
    Case("toml-syntax-error", put(), [("scenario.toml, line", "valid TOML")],
         text=lambda t: t.replace("spacing_mm = 1.0", "spacing_mm = 1.0 mm")),
    Case("scenario-file-missing", put(), [("scenario", "an existing TOML file")],
         args=["run", "no-such-scenario.toml", "--out", "results", "--quiet"]),
    # -- wrong types -------------------------------------------------------------------------------------
    Case("string-for-number", put((SRC + ("power_W",), "1.5")), [("sources[0].power_W", "a number")]),
    Case("string-for-spacing", put((("grid", "spacing_mm"), "1 mm")), [("grid.spacing_mm", "a number")]),
    Case("boolean-for-number", put((("numerics", "stop_time_s"), True)), [("numerics.stop_time_s", "a number")]),
    Case("table-for-array-of-tables", lambda d, f: d.update(sources=d["sources"][0]),
         [("sources", "double brackets")]),
    Case("choice-typo", put((("light", "method"), "diffusoin")), [("light.method", "did you mean 'diffusion'")]),
    Case("geometry-type-typo", put((("geometry", "type"), "mouse_flank_tumor")),
         [("geometry.type", "did you mean 'mouse_flank_tumour'")]),
    # -- NaN, infinity, negative values ------------------------------------------------------------------
    Case("nan-power", put((SRC + ("power_W",), NAN)), [("sources[0].power_W", "finite")], check=True),
    Case("nan-in-position", put((SRC + ("position_mm",), [15.0, NAN, 0.0])),
         [("sources[0].position_mm[1]", "finite")]),
    Case("infinite-stop-time", put((("numerics", "stop_time_s"), INF)), [("numerics.stop_time_s", "finite")]),
    Case("negative-power", put((SRC + ("power_W",), -1.5)), [("sources[0].power_W", ">= 0")]),
    Case("negative-stop-time", put((("numerics", "stop_time_s"), -20.0)), [("numerics.stop_time_s", "> 0")]),
    Case("negative-perfusion", put((("tissues",), {"tumour": {"perfusion_per_s": -0.01}})),
         [("tissues.tumour.perfusion_per_s", ">= 0")]),
    Case("negative-concentration", put((NANO + ("distribution", "concentration_ug_per_mL"), -2.5)),
         [("nanoparticles[0].distribution.concentration_ug_per_mL", ">= 0")]),
    # -- unit slips --------------------------------------------------------------------------------------
    Case("spacing-100-mm", put((("grid", "spacing_mm"), 100.0)), [("grid.spacing_mm", "at most 5 mm")], check=True),
    Case("spacing-in-metres", put((("grid", "spacing_mm"), 0.0005)), [("grid.spacing_mm", "if you gave metres")]),
    Case("spacing-too-coarse", put((("grid", "spacing_mm"), 4.0)), [("grid.spacing_mm", "at least 8 voxels")]),
    Case("wavelength-in-metres", put((SRC + ("wavelength_nm",), 8.08e-7)),
         [("sources[0].wavelength_nm", "808 nm")]),
    Case("rod-length-in-metres", put((NANO + ("particle", "length_nm"), 4e-8)),
         [("nanoparticles[0].particle.length_nm", "would be 40 nm")]),
    # -- outside the data / the grid -----------------------------------------------------------------
    Case("wavelength-outside-tissue-data", put((SRC + ("wavelength_nm",), 1300.0)),
         [("sources[0].wavelength_nm", "400-1100 nm")], check=True),
    Case("no-source-at-photosensitizer-wavelength", put((("photosensitizer",), PHOTOFRIN)),
         [("sources", "treatment wavelength of 'photofrin'")]),
    Case("photosensitizer-wavelength-outside-data",
         put((("photosensitizer",), dict(PHOTOFRIN, wavelengths_nm=[1300.0], extinction_per_cm_per_uM=[0.003]))),
         [("photosensitizer.wavelengths_nm[0]", "400-1100 nm"), ("sources", "treatment wavelength")]),
    Case("beam-off-the-grid", put((SRC + ("position_mm",), [15.0, 15.0, -5.0])),
         [("sources[0].position_mm", "on a face of the grid")]),
    Case("beam-wider-than-face", put((SRC + ("radius_mm",), 20.0)),
         [("sources[0].radius_mm", "inside the z_min face")]),
    Case("point-source-outside-grid",
         put((SRC, {"name": "fibre tip", "type": "isotropic_point", "wavelength_nm": 808.0, "power_W": 0.5,
                    "position_mm": [15.0, 15.0, 50.0]})),
         [("sources[0].position_mm", "strictly inside the grid")]),
    Case("diffuser-end-outside-grid",
         put((SRC, {"name": "diffuser", "type": "cylindrical_diffuser", "wavelength_nm": 808.0, "power_W": 0.5,
                    "position_mm": [15.0, 15.0, 15.0], "length_mm": 20.0})),
         [("sources[0].position_mm", "strictly inside the grid")]),
    Case("probe-outside-grid", put((("outputs", "probes"), {"deep": [15.0, 15.0, 25.0]})),
         [("outputs.probes.deep", "inside the grid")]),
    Case("tumour-outside-block", put((("geometry", "tumour_centre_mm"), [15.0, 15.0, 18.0])),
         [("geometry.tumour_centre_mm[2]", "inside the block")]),
    Case("schedule-starts-after-run", put((SRC + ("schedule", "start_s"), 30.0)),
         [("sources[0].schedule.start_s", "before numerics.stop_time_s")]),
    # -- time stepping -------------------------------------------------------------------------------
    Case("unstable-explicit-step", put((("numerics", "dt_s"), 5.0)), [("numerics.dt_s", "stability limit")],
         check=True),
    Case("step-longer-than-run", put((("numerics", "dt_s"), 50.0)), [("numerics.dt_s", "no longer than the run")]),
    Case("step-in-wrong-unit", put((("numerics", "dt_s"), 1e-9)), [("numerics.dt_s", "at most 1e+08 steps")]),
    # -- tissues and labels --------------------------------------------------------------------------
    Case("tissue-not-in-geometry", put((("tissues",), {"tumor": {"perfusion_per_s": 0.01}})),
         [("tissues.tumor", "did you mean 'tumour'")]),
    Case("both-thermal-bases", put((("tissues",), {"fat": {"thermal": "fat", "itis": "Fat"}})),
         [("tissues.fat.itis", "one thermal base only")]),
    Case("temperature-in-kelvin", put((("bioheat", "arterial_temperature_C"), 310.15)),
         [("bioheat.arterial_temperature_C", "310.1 K would be 37 degC")]),
    Case("boundary-temperature-in-kelvin", put((("boundaries", "z_min", "ambient_temperature_C"), 298.15)),
         [("boundaries.z_min.ambient_temperature_C", "degrees Celsius")]),
    Case("power-in-milliwatts", put((SRC + ("power_W",), 1500.0)), [("sources[0].power_W", "if you meant 1500 mW")]),
    Case("phantom-size-in-metres", put((("geometry", "size_mm"), [0.03, 0.03, 0.02]),
                                       (("geometry", "tumour_centre_mm"), DELETE)),
         [("geometry.size_mm", "0.02 m is 20 mm"), ("geometry.size_mm[2]", "leaving room for muscle"),
          ("geometry.tumour_semi_axes_mm", "inside the block")]),
    Case("structure-without-voxels",
         put((("structures",), [{"name": "epi", "tissues": ["epidermis"], "role": "organ_at_risk"}])),
         [("structures[0]", "at least one voxel")]),
    # -- mesh geometry -------------------------------------------------------------------------------
    Case("missing-mesh-file", put((("geometry", "file"), "no_such_block.vtu")),
         [("geometry.file", "an existing mesh file")], base=mesh_base, check=True),
    Case("surface-as-volume-mesh", put((("geometry", "file"), str(MESHES / "tumour_ellipsoid.stl"))),
         [("geometry.file", "a volume mesh with tetrahedra")], base=mesh_base),
    Case("mesh-tag-without-tissue", put((("geometry", "tags"), {"1": "dermis", "2": "fat", "3": "muscle"}),
                                        (("nanoparticles",), DELETE)),
         [("geometry.tags", "tag 4 has none")], base=mesh_base, check=True),
    Case("mesh-tag-field-typo", put((("geometry", "tag_field"), "tags")),
         [("geometry.tag_field", "it has tag")], base=mesh_base),
    Case("mesh-label-without-tissue-properties",
         put((("geometry", "tags", "4"), "carcinoma"), (NANO + ("distribution", "tissues"), ["carcinoma"])),
         [("tissues.carcinoma.thermal", "thermal properties"), ("tissues.carcinoma.optical", "optical properties")],
         base=mesh_base),
    Case("mesh-in-mm-read-as-metres", put((("geometry", "mesh_units"), "m")),
         [("geometry.mesh_units", 'write mesh_units = "mm"')], base=mesh_base, check=True),
    Case("mesh-spacing-too-fine", put((("grid", "spacing_mm"), 0.01)),
         [("grid.spacing_mm", "2000 x 2000 x 1200 voxels")], base=mesh_base),
    Case("source-outside-mesh-box", put((SRC + ("position_mm",), [30.0, 30.0, 0.0])),
         [("sources[0].position_mm", "on a face of the grid")], base=mesh_base, check=True),
    Case("grid-beside-the-mesh", put((("grid", "origin_mm"), [100.0, 0.0, 0.0]),
                                     (("grid", "size_mm"), [20.0, 20.0, 12.0]),
                                     (SRC + ("position_mm",), [110.0, 10.0, 0.0]), (("outputs", "probes"), {})),
         [("grid.origin_mm", "a grid overlapping the mesh")], base=mesh_base),
    # -- the results folder --------------------------------------------------------------------------
    Case("results-folder-is-a-file", lambda d, f: d["outputs"].update(folder="results"),
         [("outputs.folder", "not a file")], destination="file", args=["run", "scenario.toml", "--quiet"]),
    Case("existing-results-folder-no-overwrite", lambda d, f: d["outputs"].update(folder="results", overwrite=False),
         [("outputs.folder", "overwrite")], destination="folder", args=["run", "scenario.toml", "--quiet"]),
    # -- several problems at once --------------------------------------------------------------------
    Case("three-problems-at-once",
         put((SRC + ("power_W",), -1.0), (SRC + ("wavelength_nm",), 2000.0), (("numerics", "dt_s"), NAN)),
         [("sources[0].power_W", ">= 0"), ("sources[0].wavelength_nm", "400-1100 nm"),
          ("numerics.dt_s", "finite")], check=True),
    Case("problems-in-four-sections",
         both(rename(("grid", "spacing_mm"), "spacing"), put((SRC + ("position_mm",), [15.0, 15.0, -5.0]),
                                                              (("light", "method"), "monte-carlo"),
                                                              (("light", "photons"), 1),
                                                              (("numerics", "dt_s"), 50.0))),
         [("grid.spacing", "did you mean 'spacing_mm'"), ("grid.spacing_mm", "required"),
          ("sources[0].position_mm", "on a face of the grid"), ("light.photons", "as many photon packets"),
          ("numerics.dt_s", "no longer than the run")]),
    # -- found only when building or at the command line, reported under the scenario key or the flag ---
    Case("unstable-step-at-interfaces", put((("numerics", "dt_s"), 1.2)), [("numerics.dt_s", "stability limit")]),
    Case("out-is-a-file", put(), [("--out", "not a file")], destination="file"),
    Case("existing-out-folder-no-overwrite", put((("outputs", "overwrite"), False)), [("--out", "overwrite")],
         destination="folder"),
    Case("nanoparticles-in-tissue-without-voxels", put((NANO + ("distribution", "tissues"), ["epidermis"])),
         [("nanoparticles[0].distribution.tissues", "voxel")]),
    Case("diffusion-iterations-too-few", put((("light", "diffusion_max_iterations"), 1)),
         [("light.diffusion_max_iterations", "iterations")]),
    Case("unreadable-mesh-file", lambda d, f: (f / "flank_block.vtu").write_text("not a mesh\n", encoding="utf-8"),
         [("geometry.file", "a mesh file meshio can read")], base=mesh_base),
    Case("gpu-requested-without-gpu", put((("numerics", "device"), "gpu")), [("numerics.device", "GPU")],
         marks=[pytest.mark.skipif(gpu_status()[0], reason="a GPU is usable here")]),
]


# -- running a case ------------------------------------------------------------------------------------
def write_case(case: Case, folder: Path) -> Path:
    data = case.base(folder)
    case.mutate(data, folder)
    text = tomli_w.dumps(data)
    if case.text is not None:
        text = case.text(text)
    path = folder / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


def prepare_destination(case: Case, folder: Path) -> dict[str, str]:
    """Create what the case says exists at ``folder/results``; return its files' contents."""
    out = folder / "results"
    if case.destination == "file":
        out.write_text("not a folder\n", encoding="utf-8")
        return {".": "not a folder\n"}
    if case.destination == "folder":
        out.mkdir()
        (out / "summary.json").write_text('{"status": "complete", "earlier": true}\n', encoding="utf-8")
        return {"summary.json": '{"status": "complete", "earlier": true}\n'}
    return {}


def destination_state(folder: Path) -> dict[str, str]:
    out = folder / "results"
    if out.is_file():
        return {".": out.read_text(encoding="utf-8")}
    if out.is_dir():
        return {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file()}
    return {}


def problem_lines(stderr: str) -> list[str]:
    """The error lines below the context line, without the ``phototherm: error: `` prefix."""
    lines = [line.removeprefix("phototherm: error: ") for line in stderr.splitlines()
             if line.startswith("phototherm: error: ")]
    return lines[1:]


def assert_refused(proc, case: Case) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, f"exit status {proc.returncode}, expected 2\n{out}"
    assert "Traceback" not in out, out
    assert all(line.startswith("phototherm: ") for line in proc.stderr.splitlines() if line.strip()), proc.stderr
    lines = problem_lines(proc.stderr)
    assert len(lines) == len(case.problems), (f"expected {len(case.problems)} problems, got {len(lines)}:\n"
                                              + proc.stderr)
    for path, phrase in case.problems:
        starts = (f"{path} = ", f"{path}") if path.endswith(", line") else (f"{path} = ",)
        matching = [line for line in lines if line.startswith(starts)]
        assert matching, f"no problem reported at {path!r}:\n{proc.stderr}"
        assert any(phrase in line for line in matching), f"{phrase!r} not said of {path!r}:\n{proc.stderr}"


def run_case(case: Case, folder: Path, command: str):
    write_case(case, folder)
    before = prepare_destination(case, folder)
    args = case.args or ["run", "scenario.toml", "--out", "results", "--quiet"]
    if command == "check":
        args = ["check", args[1]]
    proc = run_cli(args, folder, timeout=120)
    return proc, before


def _param(case: Case):
    return pytest.param(case, id=case.id, marks=case.marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_run_refuses_bad_input(case: Case, tmp_path):
    proc, before = run_case(case, tmp_path, "run")
    assert_refused(proc, case)
    # nothing that looks like a result: no new folder, the old destination untouched, no staging leftovers
    assert destination_state(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("case", [_param(c) for c in CASES if c.check])
def test_check_refuses_bad_input(case: Case, tmp_path):
    proc, before = run_case(case, tmp_path, "check")
    assert_refused(proc, case)
    assert destination_state(tmp_path) == before


def test_catalogue_size_and_ids():
    ids = [c.id for c in CASES]
    assert len(ids) >= 30 and len(set(ids)) == len(ids)
    assert any(len(c.problems) >= 3 for c in CASES)


@pytest.mark.parametrize("make_base", [lambda folder: base(), mesh_base], ids=["ptt-demo-coarse", "mesh"])
def test_the_bases_are_valid(make_base, tmp_path):
    """The cases fail because of their mutation, not because the base is broken."""
    write_case(Case("valid", put(), [], base=make_base), tmp_path)
    proc = run_cli(["check", "scenario.toml"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "scenario.toml: valid" in proc.stdout


def test_the_coarse_base_runs(tmp_path):
    """What the cases break runs in about a second and writes a complete results folder."""
    write_case(Case("valid", put(), []), tmp_path)
    proc = run_cli(["run", "scenario.toml", "--out", "results", "--quiet"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '"status": "complete"' in (tmp_path / "results" / "summary.json").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
