"""Scenario format v1: template, examples, TOML round trips, Python-built scenarios, JSON Schema."""

from __future__ import annotations

import copy
import json
import math
import re
import sys
import warnings

import pytest

from phototherm.errors import InputError
from phototherm.scenario import (
    EXAMPLE_SCENARIOS,
    FORMAT_VERSION,
    Scenario,
    describe_scenario,
    dumps_toml,
    example_scenario_path,
    load_scenario,
    loads_scenario,
    parse_toml,
    scenario_from_dict,
    scenario_json_schema,
    template_text,
    write_json_schema,
    write_template,
)
from phototherm.scenario.schema import (
    CollimatedBeamSource,
    ConstantSchedule,
    GridSpec,
    MeshGeometry,
    MouseFlankTumourGeometry,
    NumericsSpec,
    PhotosensitizerSpec,
    PulsesSchedule,
    TissueSpec,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _problems(excinfo) -> dict[str, str]:
    return {p.path: p.expected for p in excinfo.value.problems}


# -- template and examples ------------------------------------------------------------------------
def test_template_validates_as_written():
    scenario = loads_scenario(template_text())
    assert scenario.phototherm_scenario == FORMAT_VERSION
    assert scenario.geometry.type == "mouse_flank_tumour"
    assert scenario.sources[0].power_W == 1.5
    lines = describe_scenario(scenario)
    assert any("60 x 60 x 40 voxels" in line for line in lines)


def test_template_explains_every_key_it_sets():
    """Every active key line carries a comment, except section keys whose name says it all."""
    self_explaining = {"name", "title", "description", "structure", "quantity", "metric", "tissues", "type",
                       "default", "photons"}
    for line in template_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("["):
            continue
        key = stripped.split("=", 1)[0].strip()
        assert "#" in stripped or key in self_explaining, f"uncommented template line: {line!r}"


def test_template_optional_lines_are_valid_toml_keys_of_the_schema():
    """The commented-out plan block, once uncommented, gives a valid scenario with a plan."""
    text = template_text()
    start = text.index("#[plan]\n")
    end = text.index("[outputs]")
    block = "\n".join(re.sub(r"^#(?=\S)", "", line) for line in text[start:end].splitlines())
    scenario = loads_scenario(text[:start] + block + "\n" + text[end:])
    assert scenario.plan is not None
    assert scenario.plan.sources[0].power_W == [0.5, 3.0]
    assert scenario.plan.fractionation.on_s == [30.0, 60.0]
    assert scenario.plan.exposure_time_s == [60.0, 300.0]


def _models_at(header: str) -> list:
    """Model classes a TOML table header ("tissues.tumour", "sources.schedule") designates."""
    import typing

    from pydantic import BaseModel

    def expand(tp):
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            return expand(typing.get_args(tp)[0])
        if origin is typing.Union:
            return [m for a in typing.get_args(tp) for m in expand(a)]
        if origin is list:
            return expand(typing.get_args(tp)[0])
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return [tp]
        return [tp]

    current = [Scenario]
    for part in header.split("."):
        following = []
        for tp in current:
            if isinstance(tp, type) and issubclass(tp, BaseModel) and part in tp.model_fields:
                following += expand(tp.model_fields[part].annotation)
            elif typing.get_origin(tp) is dict:
                following += expand(typing.get_args(tp)[1])
        current = following
    return current


def test_template_optional_keys_exist_where_they_are_shown():
    """Every "#key = value" line names a key of the table it sits in (the documentation cannot drift)."""
    header = ""
    checked = 0
    for line in template_text().splitlines():
        match = re.match(r"^#?\[\[?([A-Za-z0-9_.]+)\]\]?", line)
        if match:
            header = match.group(1)
            continue
        match = re.match(r"^#([A-Za-z_][A-Za-z0-9_]*) = ", line)
        if not match:
            continue
        key = match.group(1)
        models = [m for m in _models_at(header) if hasattr(m, "model_fields")] if header else [Scenario]
        assert any(key in m.model_fields for m in models), (header, key)
        checked += 1
    assert checked > 40


def test_write_template_refuses_to_overwrite(tmp_path):
    path = write_template(tmp_path / "scenario.toml")
    assert load_scenario(path).title.startswith("Photothermal")
    with pytest.raises(InputError):
        write_template(path)
    write_template(path, overwrite=True)


@pytest.mark.parametrize("name", EXAMPLE_SCENARIOS)
def test_example_scenarios_validate_and_round_trip(name):
    scenario = load_scenario(example_scenario_path(name))
    text = scenario.to_toml()
    again = loads_scenario(text)
    assert again == scenario
    assert again.to_toml() == text  # writing is deterministic and stable


def test_examples_express_the_built_in_demos():
    """Sources, schedules and times of the example scenarios are those of phototherm demo / pdt-demo."""
    from phototherm.examples.demo import DemoSettings
    from phototherm.examples.pdt_demo import PDTDemoSettings

    ptt, demo = load_scenario(example_scenario_path("ptt_demo")), DemoSettings()
    beam = ptt.sources[0]
    assert beam.resolved_power_W() == demo.power
    assert beam.radius_mm * 1e-3 == pytest.approx(demo.beam_radius)
    assert beam.wavelength_nm * 1e-9 == pytest.approx(demo.wavelength)
    assert beam.schedule.duration_s == demo.heating_time
    assert ptt.numerics.stop_time_s == demo.total_time
    dist = ptt.nanoparticles[0].distribution
    assert (dist.concentration(), dist.enhancement, dist.rim_width_mm * 1e-3) == (
        (demo.gold_ug_per_mL, "ug/mL"), demo.rim_enhancement, pytest.approx(demo.rim_width))

    pdt, settings = load_scenario(example_scenario_path("pdt_demo")), PDTDemoSettings()
    beam = pdt.sources[0]
    # irradiance x pi R^2 reproduces the demo's power to rounding
    assert beam.resolved_power_W() == pytest.approx(settings.power, rel=1e-12)
    pulses = settings.schedule("fractionated")
    assert isinstance(beam.schedule, PulsesSchedule)
    assert beam.schedule.count == len(pulses.segments)
    assert pdt.numerics.stop_time_s == settings.stop_time("fractionated")
    assert pdt.numerics.dt_s == settings.dt
    assert pdt.photosensitizer.concentration_uM["tumour"] == settings.tumour_concentration_uM
    assert pdt.photosensitizer.default_concentration_uM == settings.normal_concentration_uM


def test_example_geometries_reproduce_the_demo_label_maps():
    phantoms = pytest.importorskip("phototherm.phantoms")
    import numpy as np

    from phototherm.examples.demo import DemoSettings
    from phototherm.examples.pdt_demo import PDTDemoSettings
    from phototherm.grid import Grid

    for name, s, has_fat in (("ptt_demo", DemoSettings(), True), ("pdt_demo", PDTDemoSettings(), False)):
        scenario = load_scenario(example_scenario_path(name))
        g = scenario.geometry
        mm = 1e-3
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", phantoms.GeometryWarning)  # the 0.1 mm epidermis is not resolved
            phantom = phantoms.build_phantom(
                "mouse_flank_tumour", spacing=scenario.grid.spacing_mm[0] * mm,
                size=tuple(x * mm for x in g.size_mm), epidermis_thickness=g.epidermis_thickness_mm * mm,
                dermis_thickness=g.dermis_thickness_mm * mm, fat_thickness=g.fat_thickness_mm * mm,
                tumour_semi_axes=tuple(x * mm for x in g.tumour_semi_axes_mm),
                tumour_centre=tuple(x * mm for x in g.tumour_centre_mm))
        names = np.array([phantom.tissues[i] for i in range(len(phantom.tissues))])[phantom.labels]
        names = np.where(np.isin(names, ["epidermis", "dermis"]), "skin", names)
        grid = Grid(tuple(int(round(L / s.spacing)) for L in s.size), s.spacing)
        X, Y, Z = grid.mesh()
        expected = np.full(grid.shape, "muscle", dtype=object)
        if has_fat:
            expected[Z < s.skin_thickness + s.fat_thickness] = "fat"
        expected[Z < s.skin_thickness] = "skin"
        tumour = (X - s.size[0] / 2) ** 2 + (Y - s.size[1] / 2) ** 2 + (Z - s.tumour_depth) ** 2 <= s.tumour_radius ** 2
        expected[tumour] = "tumour"
        assert phantom.grid.shape == grid.shape
        assert (names == expected).all(), name


# -- round trips ------------------------------------------------------------------------------------
def _python_scenario(**changes) -> Scenario:
    base = dict(
        phototherm_scenario=1,
        title="built in Python",
        grid=GridSpec(spacing_mm=0.25),
        geometry=MouseFlankTumourGeometry(type="mouse_flank_tumour"),
        tissues={"tumour": TissueSpec(thermal="tumour", optical="tumour", perfusion_per_s=0.002,
                                      mua_per_cm=0.5, mus_per_cm=120.0)},
        sources=[CollimatedBeamSource(type="collimated_beam", name="beam", wavelength_nm=808.0,
                                      irradiance_W_per_cm2=1.0, position_mm=[10.0, 10.0, 0.0], radius_mm=4.0,
                                      profile="gaussian",
                                      schedule=ConstantSchedule(type="constant", duration_s=120.0))],
        numerics=NumericsSpec(stop_time_s=180.0, stepper="crank-nicolson", dt_s=1.0),
        boundaries={"default": "insulated", "z_min": {"type": "convective",
                                                      "heat_transfer_coefficient_W_per_m2_per_K": 8.0,
                                                      "ambient_temperature_C": 22.0}},
    )
    base.update(changes)
    return Scenario(**base)


def test_python_built_scenario_saves_and_reloads_equal(tmp_path):
    scenario = _python_scenario()
    path = tmp_path / "sub" / "python.toml"
    scenario.save(path)
    again = load_scenario(path)
    assert again == scenario
    assert again.source_path == path.resolve()
    # irradiance 1 W/cm^2 on a Gaussian of 1/e^2 radius 4 mm: P = E pi w^2 / 2
    assert again.sources[0].resolved_power_W() == pytest.approx(1e4 * math.pi * (4e-3) ** 2 / 2, rel=1e-12)
    assert again.boundaries.face("z_min").ambient_temperature_C == 22.0
    assert again.boundaries.face("x_max").type == "insulated"


def test_python_dicts_and_models_build_the_same_scenario():
    as_models = _python_scenario()
    as_dicts = Scenario(**json.loads(json.dumps(as_models.model_dump())))
    assert as_dicts == as_models
    assert Scenario.from_dict(as_models.to_dict()) == as_models


def test_toml_to_model_to_toml_keeps_shorthand_forms():
    text = example_scenario_path("ptt_demo").read_text()
    scenario = loads_scenario(text)
    out = scenario.to_toml()
    assert "spacing_mm = 0.5\n" in out          # a single number stays a single number
    assert 'default = "insulated"' in out       # a face without parameters stays a string
    data = tomllib.loads(out)
    assert data["phototherm_scenario"] == 1
    assert data["sources"][0]["schedule"]["type"] == "constant"
    assert "photosensitizer" not in data        # unset optional sections are left out


def test_scenario_equality_ignores_the_file_but_not_the_content(tmp_path):
    a = load_scenario(example_scenario_path("ptt_demo"))
    b = loads_scenario(a.to_toml())
    assert a == b and a.source_path is not None and b.source_path is None
    c = a.model_copy(update={"title": "other"})
    assert c != a


def test_save_reexpresses_relative_paths(tmp_path):
    (tmp_path / "meshes").mkdir()
    (tmp_path / "meshes" / "model.msh").write_text("placeholder")
    (tmp_path / "meshes" / "tumour.stl").write_text("placeholder")
    text = _mesh_scenario_text("meshes/model.msh", "meshes/tumour.stl")
    (tmp_path / "a.toml").write_text(text)
    scenario = load_scenario(tmp_path / "a.toml")
    assert scenario.resolve_path(scenario.geometry.file) == (tmp_path / "meshes" / "model.msh").resolve()
    scenario.save(tmp_path / "elsewhere" / "b.toml")
    moved = load_scenario(tmp_path / "elsewhere" / "b.toml")
    assert moved.geometry.file == "../meshes/model.msh"
    assert moved.geometry.surfaces[0].file == "../meshes/tumour.stl"
    assert moved.outputs.folder == "../results"
    assert moved.resolve_path(moved.geometry.file) == (tmp_path / "meshes" / "model.msh").resolve()


def _mesh_scenario_text(volume: str, surface: str) -> str:
    return f'''
phototherm_scenario = 1
[grid]
spacing_mm = [0.5, 0.5, 0.25]
origin_mm = [-10.0, -10.0, 0.0]
size_mm = [20.0, 20.0, 10.0]
[geometry]
type = "mesh"
file = "{volume}"
mesh_units = "mm"
tags = {{ "1" = "muscle", "2" = "kidney" }}
background = "fat"
[[geometry.surfaces]]
file = "{surface}"
tissue = "tumour"
[tissues.kidney]
itis = "Kidney"
optical = "liver"
mua_per_cm = 0.4
[[sources]]
name = "fibre"
type = "cylindrical_diffuser"
wavelength_nm = 660.0
power_W = 0.2
position_mm = [0.0, 0.0, 5.0]
direction = [0.0, 0.0, 1.0]
length_mm = 4.0
[numerics]
stop_time_s = 60.0
[[structures]]
name = "kidney"
mesh_tags = [2]
role = "organ_at_risk"
'''


def test_mesh_scenario_validates_with_files_and_reports_missing_ones(tmp_path):
    text = _mesh_scenario_text("model.msh", "tumour.stl")
    (tmp_path / "model.msh").write_text("placeholder")
    (tmp_path / "tumour.stl").write_text("placeholder")
    scenario = loads_scenario(text, base_dir=tmp_path)
    assert isinstance(scenario.geometry, MeshGeometry)
    assert scenario.grid.spacing_mm == [0.5, 0.5, 0.25]
    with pytest.raises(InputError) as excinfo:
        loads_scenario(text, base_dir=tmp_path / "nowhere")
    found = _problems(excinfo)
    assert set(found) == {"geometry.file", "geometry.surfaces[0].file"}
    assert "existing mesh file" in found["geometry.file"]


# -- SI helpers for the builder ----------------------------------------------------------------------
def test_unit_conversion_helpers():
    tissue = TissueSpec(mua_per_cm=0.3, mus_per_cm=100.0, scattering_500nm_per_cm=20.0, anisotropy=0.8,
                        perfusion_per_s=0.001)
    assert tissue.optical_overrides() == {"mua": pytest.approx(30.0), "mus": pytest.approx(1e4),
                                          "scattering_500nm": pytest.approx(2000.0), "anisotropy": 0.8}
    assert tissue.thermal_overrides() == {"perfusion": 0.001}
    sensitizer = PhotosensitizerSpec(name="photofrin", wavelengths_nm=[630.0], extinction_per_cm_per_uM=[0.0035])
    params = sensitizer.parameters()
    assert params["wavelengths"] == (pytest.approx(630e-9),)
    assert params["extinction"] == (pytest.approx(0.35),)   # 1/(cm uM) -> 1/(m uM)
    flat = CollimatedBeamSource(type="collimated_beam", name="b", wavelength_nm=630.0, irradiance_mW_per_cm2=75.0,
                                position_mm=[0, 0, 0], radius_mm=6.0)
    assert flat.resolved_power_W() == pytest.approx(75.0 * 10.0 * math.pi * 0.006 ** 2, rel=1e-12)


# -- direct construction, syntax errors ---------------------------------------------------------------
def test_direct_construction_raises_input_error_with_paths():
    with pytest.raises(InputError) as excinfo:
        CollimatedBeamSource(type="collimated_beam", name="b", wavelength_nm=-808.0, position_mm=[1, 2],
                             radius_m=3.0)
    found = _problems(excinfo)
    assert set(found) == {"wavelength_nm", "position_mm", "radius_m"}
    assert "did you mean 'radius_mm'" in found["radius_m"]
    with pytest.raises(InputError) as excinfo:
        _python_scenario(numerics=NumericsSpec(stop_time_s=10.0, dt_s=20.0, stepper="backward-euler"))
    assert set(_problems(excinfo)) == {"numerics.dt_s"}


def test_toml_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('phototherm_scenario = 1\n[grid]\nspacing_mm = 0.5 0.5\n')
    with pytest.raises(InputError) as excinfo:
        load_scenario(path)
    [problem] = excinfo.value.problems
    assert problem.path.endswith("line 3, column 18")
    assert problem.value == "spacing_mm = 0.5 0.5"
    assert problem.expected.startswith("valid TOML")
    with pytest.raises(InputError, match="end of file"):
        parse_toml("[grid")


def test_missing_scenario_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_scenario(tmp_path / "none.toml")


def test_scenario_from_dict_refuses_non_tables():
    with pytest.raises(InputError):
        scenario_from_dict(["not", "a", "table"])


# -- JSON Schema ------------------------------------------------------------------------------------------
def test_json_schema_is_valid_json_and_documents_units(tmp_path):
    schema = scenario_json_schema()
    text = json.dumps(schema)
    assert json.loads(text) == schema
    assert schema["$schema"].endswith("2020-12/schema")
    top = schema["properties"]
    for section in ("phototherm_scenario", "grid", "geometry", "tissues", "nanoparticles", "photosensitizer",
                    "sources", "light", "boundaries", "bioheat", "numerics", "structures", "objective",
                    "constraints", "plan", "outputs"):
        assert section in top, section
    assert schema["required"] == ["phototherm_scenario", "grid", "geometry", "sources", "numerics"]
    defs = schema["$defs"]
    # every field of every model is documented
    for name, model in defs.items():
        for key, prop in model.get("properties", {}).items():
            assert prop.get("description"), f"{name}.{key} has no description"
    assert "[W]" in defs["CollimatedBeamSource"]["properties"]["power_W"]["description"]
    assert "[mm]" in defs["GridSpec"]["properties"]["spacing_mm"]["description"]
    assert defs["CollimatedBeamSource"]["additionalProperties"] is False
    # the shorthand forms are allowed for editors too
    spacing = json.dumps(defs["GridSpec"]["properties"]["spacing_mm"])
    assert '"number"' in spacing and '"array"' in spacing
    path = write_json_schema(tmp_path / "scenario.schema.json")
    assert json.loads(path.read_text()) == schema


@pytest.mark.parametrize("name", EXAMPLE_SCENARIOS)
def test_example_scenarios_pass_the_json_schema(name):
    jsonschema = pytest.importorskip("jsonschema")
    data = tomllib.loads(example_scenario_path(name).read_text())
    jsonschema.validate(data, scenario_json_schema())
    bad = copy.deepcopy(data)
    bad["sources"][0]["power_W"] = "high"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, scenario_json_schema())


def test_dumps_toml_is_parseable_for_every_section():
    scenario = _python_scenario(
        photosensitizer={"name": "photofrin", "concentration_uM": {"tumour": 5.0}},
        sources=[{"type": "collimated_beam", "name": "red", "wavelength_nm": 630.0, "power_W": 0.1,
                  "position_mm": [10.0, 10.0, 0.0], "radius_mm": 3.0,
                  "schedule": {"type": "piecewise_linear", "times_s": [0.0, 30.0, 30.0, 60.0],
                               "levels": [1.0, 1.0, 0.5, 0.5]}},
                 {"type": "isotropic_point", "name": "tip", "wavelength_nm": 808.0, "power_W": 0.05,
                  "position_mm": [10.0, 10.0, 5.0], "schedule": {"type": "off"}}],
        nanoparticles=[{"name": "shells", "particle": {"type": "nanoshell", "core_diameter_nm": 120.0,
                                                      "shell_thickness_nm": 10.0},
                        "distribution": {"type": "gaussian", "centre_mm": [10.0, 10.0, 4.0], "sigma_mm": 1.0,
                                         "total_particles": 1e10, "tissues": ["tumour"]}}],
        structures=[{"name": "ptv", "tissues": ["tumour"], "role": "target", "margin_mm": 1.0}],
        objective={"structure": "ptv", "quantity": "cem43_min", "metric": "D", "volume_fraction": 0.95,
                   "goal": "maximize"},
        constraints=[{"structure": "healthy", "quantity": "max_temperature_degC", "metric": "max",
                      "at_most": 44.0}],
        plan={"sources": [{"source": "red", "power_W": [0.0, 0.5]}], "exposure_time_s": [10.0, 120.0],
              "recording_interval_s": 1.0, "fractionation": {"on_s": [10.0, 60.0], "off_s": [5.0, 60.0]}},
        bioheat={"vascular_shutdown": {"quantity": "arrhenius_omega", "threshold": 1.0}},
        outputs={"fields": ["temperature_degC", "perfusion_per_s", "oxygen_uM"], "probes": {"c": [10, 10, 4]}},
    )
    again = loads_scenario(dumps_toml(scenario))
    assert again == scenario
    assert again.nanoparticles[0].distribution.sigma_mm == [1.0, 1.0, 1.0]


def test_package_docstring_example_runs():
    import doctest

    import phototherm.scenario as package

    result = doctest.testmod(package, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
