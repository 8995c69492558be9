"""Bad scenarios: each must be refused with the right key path(s) and a useful expectation.

Every case starts from the valid ptt_demo example scenario (as parsed TOML),
breaks it in one way and checks the exact set of key paths reported and a
phrase of each expectation; one test breaks five things at once and expects
all five reported together.
"""

from __future__ import annotations

import copy
import sys

import pytest

from phototherm.errors import InputError
from phototherm.scenario import example_scenario_path, load_scenario, loads_scenario, scenario_from_dict

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_BASE = tomllib.loads(example_scenario_path("ptt_demo").read_text())


def base() -> dict:
    return copy.deepcopy(_BASE)


def refused(data: dict, base_dir=None) -> dict[str, str]:
    """Path -> expectation of every problem reported for ``data`` (which must be refused)."""
    with pytest.raises(InputError) as excinfo:
        scenario_from_dict(data, base_dir=base_dir)
    problems = excinfo.value.problems
    message = str(excinfo.value)
    assert len(message.splitlines()) == len(problems) + 1  # one line per problem under the context line
    found = {}
    for p in problems:
        found.setdefault(p.path, "")
        found[p.path] += p.expected + " | "
    return found


# Each case: (id, mutation of the base dict, {path: phrase expected in that path's expectation}).
def _set(path, value):
    def mutate(d):
        *parents, last = path
        node = d
        for key in parents:
            node = node[key]
        node[last] = value
    return mutate


def _delete(path):
    def mutate(d):
        *parents, last = path
        node = d
        for key in parents:
            node = node[key]
        del node[last]
    return mutate


def _both(*mutations):
    def mutate(d):
        for m in mutations:
            m(d)
    return mutate


_SRC = ("sources", 0)
_PDT = {"name": "photofrin", "concentration_uM": {"tumour": 7.0}}

CASES = [
    # unknown keys, with close matches
    ("unknown section", _set(("source",), {}), {"source": "did you mean 'sources'"}),
    ("unknown key in a source", lambda d: d["sources"][0].update(wavelength=808.0),
     {"sources[0].wavelength": "did you mean 'wavelength_nm'"}),
    ("key with the wrong unit", lambda d: d["sources"][0].update(power_mW=1500.0),
     {"sources[0].power_mW": "did you mean 'power_W'"}),
    ("unknown key in a face table", _set(("boundaries", "z_min"), {"type": "convective", "ambient_temperature_C": 25.0,
                                                                   "heat_transfer_coefficient": 10.0}),
     {"boundaries.z_min.heat_transfer_coefficient": "did you mean 'heat_transfer_coefficient_W_per_m2_per_K'",
      "boundaries.z_min.heat_transfer_coefficient_W_per_m2_per_K": "required"}),
    # wrong types
    ("number given as a string", _set(_SRC + ("power_W",), "1.5"), {"sources[0].power_W": "a number [W]"}),
    ("boolean for a number", _set(("grid", "spacing_mm"), True),
     {"grid.spacing_mm": "a number, or an array of three numbers [mm]"}),
    ("float for a count", _set(("light", "photons"), 1.5e5), {"light.photons": "a whole number"}),
    ("table expected", _set(("numerics",), 360.0), {"numerics": "a table"}),
    ("two coordinates", _set(_SRC + ("position_mm",), [15.0, 15.0]),
     {"sources[0].position_mm": "exactly 3 values (x, y, z) [mm]"}),
    # negative, NaN, infinite values
    ("negative power", _set(_SRC + ("power_W",), -1.5), {"sources[0].power_W": ">= 0 [W]"}),
    ("negative spacing", _set(("grid", "spacing_mm"), -0.5), {"grid.spacing_mm": "> 0 [mm]"}),
    ("NaN duration", _set(_SRC + ("schedule", "duration_s"), float("nan")),
     {"sources[0].schedule.duration_s": "finite number"}),
    ("infinite stop time", _set(("numerics", "stop_time_s"), float("inf")),
     {"numerics.stop_time_s": "finite number"}),
    ("negative element of a triple", _set(("geometry", "tumour_semi_axes_mm"), [4.0, -4.0, 4.0]),
     {"geometry.tumour_semi_axes_mm[1]": "> 0"}),
    # unit mistakes and plausibility
    ("spacing 100 mm for a mouse", _set(("grid", "spacing_mm"), 100.0),
     {"grid.spacing_mm": "at most 5 mm"}),
    ("fewer than 8 voxels along an axis", _set(("grid", "spacing_mm"), 4.0),
     {"grid.spacing_mm": "at least 8 voxels"}),
    ("spacing given in metres", _set(("grid", "spacing_mm"), 0.0005),
     {"grid.spacing_mm": "0.0005 m is 0.5 mm"}),
    ("wavelength given in metres", _set(_SRC + ("wavelength_nm",), 8.08e-7),
     {"sources[0].wavelength_nm": "nanometres"}),
    ("nanorod length given in metres", _set(("nanoparticles", 0, "particle", "length_nm"), 4e-8),
     {"nanoparticles[0].particle.length_nm": "lengths here are in nanometres"}),
    ("size not a whole number of voxels", _set(("geometry", "size_mm"), [30.2, 30.0, 20.0]),
     {"geometry.size_mm[0]": "whole number of voxels"}),
    # wavelengths outside the data
    ("wavelength outside the tissue data", _set(_SRC + ("wavelength_nm",), 1300.0),
     {"sources[0].wavelength_nm": "400-1100 nm"}),
    ("no source at the sensitizer's wavelength", _set(("photosensitizer",), dict(_PDT)),
     {"sources": "treatment wavelength of 'photofrin'"}),
    ("sensitizer wavelength outside the data",
     _set(("photosensitizer",), {**_PDT, "wavelengths_nm": [1200.0], "extinction_per_cm_per_uM": [0.001]}),
     {"photosensitizer.wavelengths_nm[0]": "400-1100 nm", "sources": "treatment wavelength"}),
    ("user sensitizer missing parameters", _set(("photosensitizer",), {"name": "verteporfin",
                                                                       "wavelengths_nm": [808.0]}),
     {"photosensitizer.name": "missing: extinction_per_cm_per_uM, xi_cm2_per_mW_per_s"}),
    ("rod peak outside the gold data", _set(("nanoparticles", 0, "particle", "peak_wavelength_nm"), 2500.0),
     {"nanoparticles[0].particle.peak_wavelength_nm": "450-1937 nm"}),
    # choices
    ("unknown stepper", _set(("numerics", "stepper"), "crank_nicolson"),
     {"numerics.stepper": "did you mean 'crank-nicolson'"}),
    ("unknown source type", _set(_SRC + ("type",), "collimated"),
     {"sources[0].type": "did you mean 'collimated_beam'"}),
    ("unknown boundary type", _set(("boundaries", "z_max"), {"type": "fixed", "temperature_C": 37.0}),
     {"boundaries.z_max.type": "one of 'convective', 'fixed_temperature'"}),
    ("misspelt boundary string", _set(("boundaries", "z_max"), "insulatd"),
     {"boundaries.z_max": "did you mean 'insulated'"}),
    ("[sources] written as a single table", lambda d: d.__setitem__("sources", d["sources"][0]),
     {"sources": "write [[sources]] (double brackets)"}),
    ("version 2", _set(("phototherm_scenario",), 2), {"phototherm_scenario": "1, the scenario format version"}),
    ("missing version", _delete(("phototherm_scenario",)), {"phototherm_scenario": "required"}),
    ("missing numerics", _delete(("numerics",)), {"numerics": "required"}),
    # tissues
    ("tissue not in the geometry", _set(("tissues",), {"tumor": {"perfusion_per_s": 0.01}}),
     {"tissues.tumor": "did you mean 'tumour'"}),
    ("unknown IT'IS tissue", _set(("tissues",), {"fat": {"itis": "Subcutaneous Fat"}}),
     {"tissues.fat.itis": "IT'IS v4.2"}),
    ("Arrhenius A without Ea", _set(("tissues",), {"tumour": {"arrhenius_A_per_s": 1e40}}),
     {"tissues.tumour.arrhenius_Ea_J_per_mol": "given together"}),
    ("fraction above 1", _set(("tissues",), {"tumour": {"blood_fraction": 1.5}}),
     {"tissues.tumour.blood_fraction": "<= 1"}),
    # sources outside the grid and other geometry of sources
    ("beam not on a face", _set(_SRC + ("position_mm",), [15.0, 15.0, 1.0]),
     {"sources[0].position_mm": "on a face of the grid's bounding box"}),
    ("beam pointing out of the grid", _set(_SRC + ("direction",), [0.0, 0.0, -1.0]),
     {"sources[0].direction": "pointing into the grid through its z_min face"}),
    ("beam wider than the face", _set(_SRC + ("radius_mm",), 20.0),
     {"sources[0].radius_mm": "inside the z_min face"}),
    ("point source outside the grid", _set(("sources", 0), {"type": "isotropic_point", "name": "808 nm beam",
                                                            "wavelength_nm": 808.0, "power_W": 0.1,
                                                            "position_mm": [15.0, 15.0, 25.0]}),
     {"sources[0].position_mm": "strictly inside the grid"}),
    ("diffuser poking out of the grid", _set(("sources", 0), {"type": "cylindrical_diffuser", "name": "808 nm beam",
                                                              "wavelength_nm": 808.0, "power_W": 0.1,
                                                              "position_mm": [15.0, 15.0, 18.0],
                                                              "length_mm": 6.0}),
     {"sources[0].position_mm": "diffuser whose end"}),
    ("power and irradiance both", lambda d: d["sources"][0].update(irradiance_W_per_cm2=1.9),
     {"sources[0]": "exactly one of power_W, irradiance_W_per_cm2"}),
    ("no power", _delete(_SRC + ("power_W",)), {"sources[0].power_W": "a power [W]"}),
    ("irradiance of a pencil beam", lambda d: (d["sources"][0].pop("power_W"),
                                               d["sources"][0].update(irradiance_W_per_cm2=1.0, radius_mm=0.0)),
     {"sources[0].radius_mm": "a radius > 0"}),
    ("duplicate source names", lambda d: d["sources"].append(copy.deepcopy(d["sources"][0])),
     {"sources[0].name": "not used by another source", "sources[1].name": "not used by another source"}),
    ("source switched on after the run", _set(_SRC + ("schedule",), {"type": "constant", "start_s": 400.0}),
     {"sources[0].schedule.start_s": "before numerics.stop_time_s"}),
    ("piecewise schedule with a missing level",
     _set(_SRC + ("schedule",), {"type": "piecewise_linear", "times_s": [0.0, 60.0, 120.0], "levels": [1.0, 0.5]}),
     {"sources[0].schedule.levels": "one level per time"}),
    # geometry
    ("tumour outside the block", _set(("geometry", "tumour_centre_mm"), [28.0, 15.0, 6.0]),
     {"geometry.tumour_centre_mm[0]": "a tumour inside the block"}),
    ("layers deeper than the block", _set(("geometry", "fat_thickness_mm"), 25.0),
     {"geometry.size_mm[2]": "leaving room for muscle"}),
    ("grid size given for a phantom", _set(("grid", "size_mm"), [30.0, 30.0, 20.0]),
     {"grid.size_mm": "to be left out"}),
    ("slab layer without thickness in the middle",
     _set(("geometry",), {"type": "layered_slab", "layers": [{"tissue": "dermis", "thickness_mm": 1.0},
                                                               {"tissue": "fat"}, {"tissue": "muscle"}],
                          "lateral_size_mm": [30.0, 30.0], "depth_mm": 20.0}),
     {"geometry.layers[1].thickness_mm": "only the last layer", "nanoparticles[0].distribution.tissues[0]":
      "a tissue of the geometry", "objective.structure": "provided by the geometry: one of dermis, fat, muscle",
      "constraints[0].structure": "provided by the geometry"}),
    # nanoparticles
    ("two concentrations", lambda d: d["nanoparticles"][0]["distribution"].update(concentration_nM=0.1),
     {"nanoparticles[0].distribution": "exactly one mean concentration"}),
    ("enhancement below 1", _set(("nanoparticles", 0, "distribution", "enhancement"), 0.5),
     {"nanoparticles[0].distribution.enhancement": ">= 1"}),
    # numerics
    ("explicit step above the stability limit", _set(("numerics", "dt_s"), 5.0),
     {"numerics.dt_s": "explicit stability limit"}),
    ("step longer than the run", _set(("numerics", "dt_s"), 500.0), {"numerics.dt_s": "no longer than the run"}),
    ("step in milliseconds", _both(_set(("numerics", "dt_s"), 1e-6), _set(("numerics", "stepper"), "backward-euler")),
     {"numerics.dt_s": "at most 1e+08 steps"}),
    ("float32 tolerance out of reach", lambda d: d["numerics"].update(dtype="float32", stepper="crank-nicolson",
                                                                      cg_rtol=1e-10),
     {"numerics.cg_rtol": "at least 1e-06 in float32"}),
    ("fewer photons than batches", lambda d: d["light"].update(method="monte-carlo", photons=5),
     {"light.photons": "at least as many photon packets as batches"}),
    ("one periodic face", _set(("boundaries", "x_min"), "periodic"),
     {"boundaries.x_min/x_max": "both faces of an axis periodic"}),
    # planning and outputs
    ("objective on an unknown structure", _set(("objective", "structure"), "tumor"),
     {"objective.structure": "did you mean 'tumour'"}),
    ("V metric without threshold", _delete(("objective", "threshold")),
     {"objective.threshold": "a threshold for metric V"}),
    ("constraint without a limit", _delete(("constraints", 0, "at_most")),
     {"constraints[0].at_most": "a limit"}),
    ("PDT quantity without a sensitizer", _set(("objective", "quantity"), "singlet_oxygen_reacted_uM"),
     {"objective.quantity": "needs a [photosensitizer]"}),
    ("plan on an unknown source", _set(("plan", "sources", 0, "source"), "808nm beam"),
     {"plan.sources[0].source": "did you mean '808 nm beam'"}),
    ("plan bounds reversed", _set(("plan", "sources", 0, "power_W"), [3.0, 0.5]),
     {"plan.sources[0].power_W": "min <= max"}),
    ("probe outside the grid", _set(("outputs", "probes"), {"deep": [15.0, 15.0, 25.0]}),
     {"outputs.probes.deep": "inside the grid"}),
    ("PDT field without a sensitizer", _set(("outputs", "fields"), ["oxygen_uM"]),
     {"outputs.fields[0]": "PDT fields need a [photosensitizer]"}),
]


@pytest.mark.parametrize("case_id, mutate, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_scenario_is_refused_with_path_and_expectation(case_id, mutate, expected):
    data = base()
    mutate(data)
    found = refused(data)
    assert set(found) == set(expected), found
    for path, phrase in expected.items():
        assert phrase.lower() in found[path].lower(), (path, found[path])


def test_the_catalogue_is_long_enough():
    assert len(CASES) >= 30


def test_five_mistakes_are_reported_at_once():
    data = base()
    data["grid"]["spacing_mm"] = 100.0                        # unit mistake (cross check)
    data["sources"][0]["power_W"] = -1.0                      # negative value
    data["sources"][0]["wavelenght_nm"] = data["sources"][0].pop("wavelength_nm")  # typo: unknown + missing
    data["numerics"]["stop_time_s"] = float("nan")            # NaN
    data["tissues"] = {"tumor": {"perfusion_per_s": 0.002}}   # not a tissue of the geometry
    data["light"]["method"] = "montecarlo"                    # wrong choice
    found = refused(data)
    assert set(found) == {"grid.spacing_mm", "sources[0].power_W", "sources[0].wavelenght_nm",
                          "sources[0].wavelength_nm", "numerics.stop_time_s", "tissues.tumor", "light.method"}
    assert "did you mean 'wavelength_nm'" in found["sources[0].wavelenght_nm"]
    assert "did you mean 'monte-carlo'" in found["light.method"]
    assert "did you mean 'tumour'" in found["tissues.tumor"]
    assert "at most 5 mm" in found["grid.spacing_mm"]


def test_unknown_key_suggests_the_close_match_and_lists_known_keys():
    data = base()
    data["numerics"]["stop_time"] = data["numerics"].pop("stop_time_s")
    found = refused(data)
    assert set(found) == {"numerics.stop_time", "numerics.stop_time_s"}
    assert "did you mean 'stop_time_s'" in found["numerics.stop_time"]
    assert "known keys: stop_time_s, dt_s, stepper" in found["numerics.stop_time"]
    assert "required" in found["numerics.stop_time_s"]


def test_problem_values_are_what_was_given():
    data = base()
    data["sources"][0]["power_W"] = -2.5
    with pytest.raises(InputError) as excinfo:
        scenario_from_dict(data)
    [problem] = excinfo.value.problems
    assert problem.value == -2.5
    assert str(problem).startswith("sources[0].power_W = -2.5: expected")


def test_tissue_without_properties_in_a_mesh_geometry(tmp_path):
    (tmp_path / "model.vtu").write_text("placeholder")
    data = base()
    data["geometry"] = {"type": "mesh", "file": "model.vtu", "tags": {"1": "muscle", "2": "kidney"},
                        "background": "gel"}
    data["grid"].update(origin_mm=[0.0, 0.0, 0.0], size_mm=[30.0, 30.0, 20.0])
    data["tissues"] = {"gel": {"thermal": "water"}}
    del data["nanoparticles"]
    del data["objective"], data["constraints"], data["plan"]
    found = refused(data, base_dir=tmp_path)
    assert set(found) == {"tissues.kidney.thermal", "tissues.kidney.optical", "tissues.gel.optical"}
    assert "thermal properties for tissue 'kidney'" in found["tissues.kidney.thermal"]
    assert "mua_per_cm and mus_per_cm" in found["tissues.gel.optical"]
    data["tissues"]["kidney"] = {"itis": "Kidney", "optical": "liver"}
    data["tissues"]["gel"].update(mua_per_cm=0.01, mus_per_cm=50.0)
    scenario = scenario_from_dict(data, base_dir=tmp_path)
    assert scenario.tissues["kidney"].itis == "Kidney"


def test_missing_mesh_file_is_reported_relative_to_the_scenario(tmp_path):
    text = example_scenario_path("ptt_demo").read_text()
    text = text.replace('type = "mouse_flank_tumour"', 'type = "mesh"\nfile = "meshes/flank.msh"\n'
                        'tags = { "1" = "muscle", "2" = "tumour" }\nbackground = "muscle"')
    for key in ("size_mm", "epidermis_thickness_mm", "dermis_thickness_mm", "fat_thickness_mm",
                "tumour_semi_axes_mm", "tumour_centre_mm"):
        text = "\n".join(line for line in text.splitlines() if not line.startswith(key))
    text = text.replace('structure = "skin"', 'structure = "muscle"')  # a mesh has no "skin" structure
    (tmp_path / "scenario.toml").write_text(text)
    with pytest.raises(InputError) as excinfo:
        load_scenario(tmp_path / "scenario.toml")
    [problem] = excinfo.value.problems
    assert problem.path == "geometry.file"
    assert str(tmp_path / "meshes" / "flank.msh") in problem.expected
    (tmp_path / "meshes").mkdir()
    (tmp_path / "meshes" / "flank.msh").write_text("placeholder")
    assert load_scenario(tmp_path / "scenario.toml").geometry.file == "meshes/flank.msh"


def test_toml_syntax_error_is_reported_with_its_line():
    text = example_scenario_path("ptt_demo").read_text().replace("power_W = 1.5", "power_W = 1.5 W")
    with pytest.raises(InputError) as excinfo:
        loads_scenario(text)
    [problem] = excinfo.value.problems
    line = text.splitlines().index("power_W = 1.5 W") + 1
    assert f"line {line}, column" in problem.path
    assert problem.value == "power_W = 1.5 W"
