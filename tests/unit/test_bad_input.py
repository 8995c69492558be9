"""Bad input gets a clear error, through the Python API.

A catalogue: each case builds the smallest input with one (or several) defects
and checks the exception type and, for :class:`~phototherm.InputError`, that
every problem is reported with its key path, the value given and what was
expected, all in one exception.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

import phototherm as pt
from phototherm.backend import DEVICE_ENV_VAR, gpu_status
from phototherm.errors import DeviceUnavailableError, InputError, Problem, StabilityError

NAN, INF = float("nan"), float("inf")
SHAPE = (4, 5, 6)  # distinct extents, so messages naming the shape are unambiguous


# -- helpers ---------------------------------------------------------------------
def raises_input_error(func, *args, error=InputError, **kwargs) -> InputError:
    """Call ``func`` and return the ``InputError`` it raises, after general checks."""
    with pytest.raises(error) as info:
        func(*args, **kwargs)
    exc = info.value
    assert exc.problems, "an InputError must carry at least one Problem"
    text = str(exc)
    for problem in exc.problems:
        assert isinstance(problem, Problem)
        assert problem.expected, f"{problem.path}: no 'expected' text"
        assert problem.path in text, f"message does not show the key path {problem.path!r}:\n{text}"
    return exc


def paths(exc: InputError) -> list[str]:
    return [p.path for p in exc.problems]


def only_problem(exc: InputError) -> Problem:
    assert len(exc.problems) == 1, f"expected exactly one problem, got:\n{exc}"
    return exc.problems[0]


def problem_at(exc: InputError, path: str) -> Problem:
    found = [p for p in exc.problems if p.path == path]
    assert found, f"no problem at {path!r}; paths are {paths(exc)}"
    return found[0]


def same_value(given, expected) -> bool:
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(given, (float, np.floating)) and math.isnan(float(given))
    return given == expected


def tissue(name="medium", **changes) -> pt.ThermalTissue:
    values = dict(density=1000.0, specific_heat=4000.0, conductivity=0.5, perfusion=1e-3, metabolic_heat=400.0)
    values.update(changes)
    return pt.ThermalTissue(name, **values)


@pytest.fixture
def grid():
    return pt.Grid(SHAPE, 1e-3)


@pytest.fixture
def properties(grid):
    return pt.ThermalProperties.uniform(grid, tissue())


@pytest.fixture
def model(grid, properties):
    return pt.PennesModel(grid, properties)


@pytest.fixture
def labels(grid):
    return np.zeros(grid.shape, dtype=np.int32)


# -- grid ------------------------------------------------------------------------
@pytest.mark.parametrize("spacing", [0.0, -1e-3, NAN, INF, -INF])
def test_grid_bad_scalar_spacing_reported_on_every_axis(spacing):
    exc = raises_input_error(pt.Grid, SHAPE, spacing)
    assert paths(exc) == ["grid.spacing[0]", "grid.spacing[1]", "grid.spacing[2]"]
    assert all(same_value(p.value, spacing) for p in exc.problems)
    assert all("> 0" in p.expected for p in exc.problems)


@pytest.mark.parametrize("bad", [0.0, -2e-3, NAN, INF])
def test_grid_bad_spacing_on_one_axis(bad):
    exc = raises_input_error(pt.Grid, SHAPE, (1e-3, bad, 1e-3))
    problem = only_problem(exc)
    assert problem.path == "grid.spacing[1]"
    assert same_value(problem.value, bad)
    assert "[m]" in problem.expected


@pytest.mark.parametrize("bad", [2.5, 0, -3, NAN, INF])
def test_grid_bad_shape_entry(bad):
    exc = raises_input_error(pt.Grid, (4, bad, 6), 1e-3)
    problem = only_problem(exc)
    assert problem.path == "grid.shape[1]"
    assert same_value(problem.value, bad)
    assert "whole number" in problem.expected


@pytest.mark.parametrize("shape", [(4, 5), (4, 5, 6, 7), 40])
def test_grid_shape_needs_three_entries(shape):
    problem = only_problem(raises_input_error(pt.Grid, shape, 1e-3))
    assert problem.path == "grid.shape"
    assert problem.value == shape
    assert "three values" in problem.expected


def test_grid_non_numeric_shape_reported_once_with_the_value_given():
    # A user who typed "a" should read about "a", not about a NaN they never wrote.
    exc = raises_input_error(pt.Grid, ("a", 5, 6), 1e-3)
    problem = only_problem(exc)
    assert problem.path == "grid.shape[0]"
    assert problem.value == "a"


def test_grid_reports_every_problem_at_once():
    exc = raises_input_error(pt.Grid, (0, 5, 2.5), (-1e-3, NAN, 1e-3), origin=(0.0, INF, 0.0))
    assert sorted(paths(exc)) == sorted(
        ["grid.shape[0]", "grid.shape[2]", "grid.spacing[0]", "grid.spacing[1]", "grid.origin[1]"]
    )
    assert same_value(problem_at(exc, "grid.spacing[0]").value, -1e-3)
    assert same_value(problem_at(exc, "grid.origin[1]").value, INF)


def test_valid_grid_is_accepted():
    # the contrast case: the catalogue below is not rejecting everything
    g = pt.Grid(SHAPE, (1e-3, 2e-3, 0.5e-3), origin=(-1.0, 0.0, 1.0))
    assert g.shape == SHAPE and g.size == 120


# -- tissues -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("density", NAN),
        ("density", 0.0),
        ("density", -1000.0),
        ("density", INF),
        ("specific_heat", NAN),
        ("specific_heat", 0.0),
        ("specific_heat", -4000.0),
        ("conductivity", NAN),
        ("conductivity", 0.0),
        ("conductivity", -0.5),
        ("perfusion", -1e-3),
        ("perfusion", NAN),
        ("metabolic_heat", NAN),
        ("metabolic_heat", INF),
    ],
)
def test_invalid_tissue_property(grid, field, value):
    bad = tissue("kidney", **{field: value})
    problem = only_problem(raises_input_error(pt.ThermalProperties.uniform, grid, bad))
    assert problem.path.startswith("tissues[0]")
    assert problem.path.endswith(f".{field}")
    assert same_value(problem.value, value)


def test_negative_metabolic_heat_is_allowed(grid):
    # metabolic heat only needs to be finite (a heat sink is legal); contrast to the NaN case
    props = pt.ThermalProperties.uniform(grid, tissue(metabolic_heat=-100.0))
    assert float(props.metabolic_heat.min()) == -100.0


def test_every_tissue_problem_reported_at_once(grid):
    labels = np.zeros(grid.shape, dtype=np.int32)
    labels[:, :, 3:] = 1
    tissues = {
        0: tissue("fat", density=0.0, conductivity=NAN),
        1: tissue("bone", perfusion=-1.0, metabolic_heat=NAN),
    }
    exc = raises_input_error(pt.ThermalProperties, grid, labels, tissues)
    found = {(p.path.split(".")[0][:10], p.path.rsplit(".", 1)[1]) for p in exc.problems}
    assert found == {
        ("tissues[0]", "density"),
        ("tissues[0]", "conductivity"),
        ("tissues[1]", "perfusion"),
        ("tissues[1]", "metabolic_heat"),
    }


def test_label_without_tissue_lists_the_missing_labels(grid, labels):
    labels[0, 0, 0] = 5
    labels[1, 1, 1] = 7
    problem = only_problem(raises_input_error(pt.ThermalProperties, grid, labels, {0: tissue()}))
    assert problem.path == "labels"
    assert list(problem.value) == [5, 7]
    assert "[5, 7]" in problem.expected
    assert "[0]" in problem.expected  # and which labels do have a tissue


def test_labels_of_wrong_shape(grid):
    wrong = np.zeros((4, 5, 5), dtype=np.int32)
    problem = only_problem(raises_input_error(pt.ThermalProperties, grid, wrong, {0: tissue()}))
    assert problem.path == "labels"
    assert str(SHAPE) in problem.expected
    assert "(4, 5, 5)" in str(problem)  # the message shows the shape that was given


@pytest.mark.parametrize("dtype", [np.float64, np.float32, bool])
def test_labels_of_non_integer_dtype(grid, dtype):
    problem = only_problem(raises_input_error(pt.ThermalProperties, grid, np.zeros(grid.shape, dtype), {0: tissue()}))
    assert problem.path == "labels.dtype"
    assert problem.value == np.dtype(dtype)
    assert "integer" in problem.expected


def test_tissue_table_entry_that_is_not_a_tissue(grid, labels):
    problem = only_problem(raises_input_error(pt.ThermalProperties, grid, labels, {0: "muscle"}))
    assert problem.path == "tissues[0]"
    assert problem.value == "muscle"


# -- per-voxel overrides -----------------------------------------------------------
def test_override_with_unknown_key_suggests_the_right_one(grid, labels):
    exc = raises_input_error(
        pt.ThermalProperties, grid, labels, {0: tissue()}, {"conductivty": np.ones(grid.shape)}
    )
    problem = only_problem(exc)
    assert problem.path == "overrides.conductivty"
    assert "did you mean 'conductivity'" in problem.expected
    assert "perfusion" in problem.expected  # the accepted keys are listed


def test_override_of_wrong_shape(grid, labels):
    exc = raises_input_error(
        pt.ThermalProperties, grid, labels, {0: tissue()}, {"perfusion": np.ones((4, 5))}
    )
    problem = only_problem(exc)
    assert problem.path == "overrides.perfusion"
    assert str(SHAPE) in problem.expected


@pytest.mark.parametrize(
    ("key", "bad"),
    [("conductivity", NAN), ("conductivity", 0.0), ("density", -1.0), ("perfusion", -1e-3),
     ("perfusion", INF), ("metabolic_heat", NAN)],
)
def test_override_with_a_bad_voxel_names_the_voxel(grid, labels, key, bad):
    values = np.full(grid.shape, 0.5)
    values[1, 2, 3] = bad
    exc = raises_input_error(pt.ThermalProperties, grid, labels, {0: tissue()}, {key: values})
    problem = only_problem(exc)
    assert problem.path == f"overrides.{key}[1, 2, 3]"
    assert same_value(float(problem.value), bad)
    assert "1 of 120" in problem.expected  # how many voxels fail


def test_override_with_non_numeric_values_is_an_input_error(grid, labels):
    # A raw "ValueError: could not convert string to float" names neither the key nor the fix.
    exc = raises_input_error(
        pt.ThermalProperties, grid, labels, {0: tissue()}, {"conductivity": "half a watt"}
    )
    assert "overrides.conductivity" in paths(exc)


def test_every_override_problem_reported_at_once(grid, labels):
    k = np.full(grid.shape, 0.5)
    k[0, 0, 0] = NAN
    exc = raises_input_error(
        pt.ThermalProperties, grid, labels, {0: tissue(density=-1.0)},
        {"conductivity": k, "perfusion": np.ones((2, 2, 2)), "densty": np.ones(grid.shape)},
    )
    found = paths(exc)
    assert len(found) == 4, found
    assert {"overrides.conductivity[0, 0, 0]", "overrides.perfusion", "overrides.densty"} <= set(found)
    assert any(p.startswith("tissues[0]") and p.endswith(".density") for p in found)


# -- boundary conditions ---------------------------------------------------------------
def test_unknown_face_name_suggests_the_right_one():
    problem = only_problem(raises_input_error(pt.BoundaryConditions, x_mn=pt.Insulated()))
    assert problem.path == "boundaries.x_mn"
    assert "did you mean 'x_min'" in problem.expected
    assert "z_max" in problem.expected


@pytest.mark.parametrize("condition", ["adiabatic", "convection", 3, None])
def test_unknown_condition_type(condition):
    exc = raises_input_error(pt.BoundaryConditions, x_min=condition)
    problem = only_problem(exc)
    assert problem.path == "boundaries.x_min"
    assert problem.value == condition
    # the accepted conditions are listed
    for name in ("FixedTemperature", "Convective", "insulated", "periodic"):
        assert name in problem.expected


def test_misspelt_condition_name_gets_a_suggestion():
    exc = raises_input_error(pt.BoundaryConditions, y_min="insulatd")
    assert "did you mean 'insulated'" in problem_at(exc, "boundaries.y_min").expected


def test_unknown_default_condition():
    problem = only_problem(raises_input_error(pt.BoundaryConditions, default="adiabatic"))
    assert problem.path == "boundaries.default"
    assert problem.value == "adiabatic"


@pytest.mark.parametrize(
    "faces",
    [{"x_min": pt.Periodic()}, {"y_max": "periodic"}, {"z_min": pt.Periodic(), "z_max": pt.FixedTemperature(37.0)}],
)
def test_periodic_face_with_non_periodic_opposite(faces):
    axis = next(iter(faces))[0]
    problem = only_problem(raises_input_error(pt.BoundaryConditions, **faces))
    assert problem.path == f"boundaries.{axis}_min/{axis}_max"
    assert "Periodic" in problem.value
    assert "both faces" in problem.expected


def test_periodic_on_both_faces_is_accepted():
    assert pt.BoundaryConditions(x_min="periodic", x_max=pt.Periodic()).periodic == (True, False, False)


@pytest.mark.parametrize("hc", [-5.0, NAN, INF])
def test_bad_heat_transfer_coefficient(hc):
    problem = only_problem(raises_input_error(pt.BoundaryConditions, z_min=pt.Convective(hc, 25.0)))
    assert problem.path == "boundaries.z_min.heat_transfer_coefficient"
    assert same_value(problem.value, hc)
    assert "W/(m^2 K)" in problem.expected


@pytest.mark.parametrize("bc", [pt.FixedTemperature(NAN), pt.Convective(10.0, INF)])
def test_non_finite_boundary_temperature(bc):
    problem = only_problem(raises_input_error(pt.BoundaryConditions, z_max=bc))
    assert problem.path == "boundaries.z_max.temperature"


def test_every_boundary_problem_reported_at_once():
    exc = raises_input_error(
        pt.BoundaryConditions,
        x_min="adiabatic",
        y_min=pt.Periodic(),
        z_min=pt.Convective(-1.0, 25.0),
        zmax=pt.FixedTemperature(37.0),
    )
    assert sorted(paths(exc)) == sorted(
        ["boundaries.x_min", "boundaries.y_min/y_max", "boundaries.z_min.heat_transfer_coefficient",
         "boundaries.zmax"]
    )


# -- heat sources and schedules -----------------------------------------------------------
def test_heat_source_of_wrong_shape(grid, properties):
    source = pt.HeatSource(np.ones((4, 5, 5)), name="laser")
    problem = only_problem(raises_input_error(pt.PennesModel, grid, properties, heat_sources=[source]))
    assert problem.path.startswith("heat_sources[0]")
    assert problem.path.endswith(".power_density")
    assert str(SHAPE) in problem.expected


@pytest.mark.parametrize("bad", [NAN, INF])
def test_heat_source_with_non_finite_voxel(grid, properties, bad):
    q = np.ones(grid.shape)
    q[2, 2, 2] = bad
    problem = only_problem(
        raises_input_error(pt.PennesModel, grid, properties, heat_sources=[pt.HeatSource(q, name="laser")])
    )
    assert problem.path.startswith("heat_sources[0]")
    assert problem.path.endswith(".power_density[2, 2, 2]")
    assert same_value(float(problem.value), bad)
    assert "W/m^3" in problem.expected


def test_second_heat_source_is_named_by_its_index(grid, properties):
    good = pt.HeatSource(np.ones(grid.shape), name="a")
    bad = pt.HeatSource(np.full(grid.shape, NAN), name="b")
    problem = only_problem(raises_input_error(pt.PennesModel, grid, properties, heat_sources=[good, bad]))
    assert problem.path.startswith("heat_sources[1]")


def test_every_model_problem_reported_at_once(grid, properties):
    exc = raises_input_error(
        pt.PennesModel, grid, properties,
        heat_sources=[pt.HeatSource(np.full(grid.shape, NAN)), np.ones(grid.shape)],
        arterial_temperature=NAN,
        initial_temperature=np.full((2, 2, 2), 37.0),
    )
    found = paths(exc)
    assert "arterial_temperature" in found
    assert "initial_temperature" in found
    assert "heat_sources[1]" in found
    assert any(p.startswith("heat_sources[0]") and ".power_density" in p for p in found)
    assert len(found) == 4


@pytest.mark.parametrize("level", [-1.0, NAN, INF])
def test_schedule_with_bad_level(level):
    exc = raises_input_error(pt.PowerSchedule.constant, level, stop=10.0)
    assert "schedule.segments[0].level_start" in paths(exc)
    assert same_value(problem_at(exc, "schedule.segments[0].level_start").value, level)


def test_ramp_to_a_negative_level():
    problem = only_problem(raises_input_error(pt.PowerSchedule.ramp, 0.0, 10.0, 1.0, -0.5))
    assert problem.path == "schedule.segments[0].level_stop"
    assert problem.value == -0.5


@pytest.mark.parametrize("stop", [5.0, 10.0])
def test_schedule_stop_not_after_start(stop):
    problem = only_problem(raises_input_error(pt.PowerSchedule.constant, 1.0, start=10.0, stop=stop))
    assert problem.path == "schedule.segments[0].stop"
    assert problem.value == stop
    assert "start=10" in problem.expected


def test_every_schedule_problem_reported_at_once():
    from phototherm.schedule import Segment

    exc = raises_input_error(
        pt.PowerSchedule, [Segment(0.0, 10.0, 1.0, 1.0), Segment(20.0, 15.0, -1.0, 1.0), Segment(NAN, 5.0, 1.0, 1.0)]
    )
    found = paths(exc)
    assert "schedule.segments[1].stop" in found
    assert "schedule.segments[1].level_start" in found
    assert "schedule.segments[2].start" in found
    assert not any(p.startswith("schedule.segments[0]") for p in found)


# -- simulation settings -------------------------------------------------------------------
def test_explicit_dt_above_stability_limit(model):
    limit = model.critical_dt()
    dt = 2.0 * limit
    exc = raises_input_error(pt.Simulation, model, stop_time=10.0, dt=dt, device="cpu", error=StabilityError)
    assert isinstance(exc, InputError)  # one except clause catches every input problem
    problem = only_problem(exc)
    assert problem.path == "dt"
    assert problem.value == dt
    text = str(exc)
    assert "dt" in text
    assert f"{limit:.6g}" in text  # the limit, in seconds
    assert "backward-euler" in text  # the way out
    # ... and the suggestion works
    assert pt.Simulation(model, stop_time=10.0, dt=dt, stepper="backward-euler", device="cpu").dt == pytest.approx(
        10.0 / math.ceil(10.0 / dt)
    )


def test_explicit_dt_at_the_limit_is_accepted(model):
    limit = model.critical_dt()
    sim = pt.Simulation(model, stop_time=100 * limit, dt=limit, device="cpu")
    assert sim.dt == pytest.approx(limit)


@pytest.mark.parametrize("stepper", ["rk4", "implicit", "Backward Euler"])
def test_unknown_stepper(model, stepper):
    problem = only_problem(raises_input_error(pt.Simulation, model, stop_time=1.0, stepper=stepper, device="cpu"))
    assert problem.path == "stepper"
    assert problem.value == stepper
    for name in ("explicit", "backward-euler", "crank-nicolson"):
        assert name in problem.expected


@pytest.mark.parametrize("point", [(1.0, 0.0, 0.0), (2e-3, 2e-3, -1e-3), (2e-3, 2e-3, 7e-3), (NAN, 1e-3, 1e-3)])
def test_probe_outside_the_grid(model, point):
    exc = raises_input_error(pt.Simulation, model, stop_time=1.0, probes={"tip": point}, device="cpu")
    problem = only_problem(exc)
    assert problem.path == "probes.tip"
    assert all(same_value(a, b) for a, b in zip(problem.value, point))
    assert "inside the grid" in problem.expected


def test_probe_with_two_coordinates(model):
    problem = only_problem(
        raises_input_error(pt.Simulation, model, stop_time=1.0, probes={"tip": (1e-3, 1e-3)}, device="cpu")
    )
    assert problem.path == "probes.tip"


def test_probe_with_non_numeric_coordinate_is_an_input_error(model):
    # A raw "ValueError: could not convert string to float" names neither the probe nor the fix.
    exc = raises_input_error(pt.Simulation, model, stop_time=1.0, probes={"tip": (1e-3, 1e-3, "deep")}, device="cpu")
    assert "probes.tip" in paths(exc)


@pytest.mark.parametrize("stop_time", [-1.0, 0.0, NAN, INF])
def test_bad_stop_time(model, stop_time):
    problem = only_problem(raises_input_error(pt.Simulation, model, stop_time=stop_time, device="cpu"))
    assert problem.path == "stop_time"
    assert same_value(problem.value, stop_time)
    assert "[s]" in problem.expected


@pytest.mark.parametrize("dt", [-0.1, 0.0, NAN])
def test_bad_dt(model, dt):
    problem = only_problem(raises_input_error(pt.Simulation, model, stop_time=1.0, dt=dt, device="cpu"))
    assert problem.path == "dt"


def test_every_simulation_problem_reported_at_once(model):
    exc = raises_input_error(
        pt.Simulation, model, stop_time=-1.0, stepper="rk4", probes={"a": (1.0, 1.0, 1.0), "b": (0.0, 0.0, 0.0)},
        snapshot_interval=0.0, device="cpu",
    )
    assert sorted(paths(exc)) == sorted(["stop_time", "stepper", "probes.a", "snapshot_interval"])


# -- devices ------------------------------------------------------------------------------
@pytest.fixture
def no_device_env(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)


@pytest.mark.parametrize("device", ["tpu", "cuda", "", "gpu0"])
def test_unknown_device_argument(no_device_env, model, device):
    problem = only_problem(raises_input_error(pt.Simulation, model, stop_time=1.0, device=device))
    assert problem.path == "device"
    assert problem.value == device
    assert "auto" in problem.expected and "cpu" in problem.expected and "gpu" in problem.expected


def test_unknown_device_from_environment_names_the_variable(monkeypatch, model):
    monkeypatch.setenv(DEVICE_ENV_VAR, "tpu")
    exc = raises_input_error(pt.Simulation, model, stop_time=1.0)
    problem = only_problem(exc)
    assert problem.path == DEVICE_ENV_VAR
    assert problem.value == "tpu"
    assert DEVICE_ENV_VAR in str(exc)


def test_device_argument_overrides_environment(monkeypatch, model):
    monkeypatch.setenv(DEVICE_ENV_VAR, "tpu")
    assert pt.Simulation(model, stop_time=1.0, device="cpu").backend.name == "cpu"


@pytest.mark.parametrize("dtype", ["float16", "int32", "banana"])
def test_unknown_dtype(no_device_env, dtype):
    problem = only_problem(raises_input_error(pt.resolve_backend, "cpu", dtype))
    assert problem.path == "dtype"
    assert problem.value == dtype


def test_unknown_device_and_dtype_reported_together(no_device_env):
    assert sorted(paths(raises_input_error(pt.resolve_backend, "tpu", "int8"))) == ["device", "dtype"]


gpu_usable, gpu_reason = gpu_status()
needs_no_gpu = pytest.mark.skipif(gpu_usable, reason="a GPU is usable here")


def _check_gpu_unavailable_message(text: str) -> None:
    assert "GPU" in text
    if importlib.util.find_spec("cupy") is None:
        assert "CuPy" in text and "not installed" in text
    assert gpu_reason in text


@needs_no_gpu
def test_gpu_without_cupy_argument(no_device_env, model):
    with pytest.raises(DeviceUnavailableError) as info:
        pt.Simulation(model, stop_time=1.0, device="gpu")
    _check_gpu_unavailable_message(str(info.value))
    assert isinstance(info.value, pt.PhotothermError)


@needs_no_gpu
def test_gpu_without_cupy_environment(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV_VAR, "gpu")
    with pytest.raises(DeviceUnavailableError) as info:
        pt.resolve_backend()
    _check_gpu_unavailable_message(str(info.value))
    assert DEVICE_ENV_VAR in str(info.value)  # says who asked for the GPU


# -- tissue libraries ------------------------------------------------------------------------
def test_unknown_builtin_tissue_suggests_a_name():
    problem = only_problem(raises_input_error(pt.tissues.thermal_tissue, "muscel"))
    assert problem.path == "tissue"
    assert problem.value == "muscel"
    assert "did you mean 'muscle'" in problem.expected
    for name in ("skin", "fat", "tumour"):
        assert name in problem.expected  # the known names are listed


def test_unknown_itis_tissue_suggests_a_name():
    problem = only_problem(raises_input_error(pt.tissues.itis_tissue, "Muscel"))
    assert problem.path == "tissue"
    assert problem.value == "Muscel"
    assert "'Muscle'" in problem.expected


def test_unknown_itis_tissue_without_close_match():
    problem = only_problem(raises_input_error(pt.tissues.itis_tissue, "zzqxv"))
    assert problem.path == "tissue"
    assert problem.value == "zzqxv"


# -- light and nanoparticles (issue 3's list) -------------------------------------------------
LIGHT_GRID = pt.Grid((6, 6, 4), 1e-3)
NM808 = 808e-9


def light_medium(**kw):
    values = dict(mua=30.0, mus=9000.0, g=0.9, n=1.37, wavelength=NM808)
    values.update(kw)
    return pt.OpticalMedium.uniform(LIGHT_GRID, **values)


@pytest.mark.parametrize("wavelength", [350e-9, 1200e-9, NAN, 808.0])
def test_tissue_optics_wavelength_outside_the_data(wavelength):
    exc = raises_input_error(pt.tissues.optical_tissue("muscle").at, wavelength)
    assert paths(exc) == ["wavelength"]
    assert "nm" in only_problem(exc).expected


@pytest.mark.parametrize("wavelength", [100e-9, 2500e-9])
def test_gold_wavelength_outside_johnson_christy(wavelength):
    exc = raises_input_error(pt.GoldSphere(40e-9).cross_sections, wavelength)
    assert "wavelength" in paths(exc)[0]


@pytest.mark.parametrize(
    ("make", "path"),
    [
        (lambda: pt.GoldSphere(-40e-9), "diameter"),
        (lambda: pt.GoldSphere(NAN), "diameter"),
        (lambda: pt.GoldSphere(1e-9), "diameter"),       # below the 2 nm the models cover
        (lambda: pt.GoldSphere(40.0), "diameter"),       # 40 m: nanometres passed as metres
        (lambda: pt.GoldNanorod(10e-9, 40e-9), "length"),  # aspect ratio below 1
        (lambda: pt.GoldNanoshell(120e-9, 0.5e-9), "shell_thickness"),
    ],
    ids=["negative", "nan", "too-small", "metres-for-nm", "rod-aspect-below-1", "shell-too-thin"],
)
def test_particle_sizes_the_models_do_not_cover(make, path):
    exc = raises_input_error(make)
    assert any(path in p for p in paths(exc)), paths(exc)


@pytest.mark.parametrize("value", [-1.0, NAN, INF])
def test_bad_nanoparticle_concentration(value):
    exc = raises_input_error(pt.nanoparticles.number_density, value, "particles/mL")
    assert only_problem(exc).expected


@pytest.mark.parametrize(
    ("kw", "path"),
    [({"mua": -1.0}, "medium.mua"), ({"mus": NAN}, "medium.mus"), ({"g": 1.0}, "medium.g"),
     ({"g": -1.5}, "medium.g"), ({"n": 0.9}, "medium.n")],
    ids=["negative-mua", "nan-mus", "g-one", "g-below-minus-one", "n-below-one"],
)
def test_bad_optical_properties(kw, path):
    exc = raises_input_error(light_medium, **kw)
    assert paths(exc)[0].startswith(path)


def test_bad_optical_tissue_reports_every_problem():
    exc = raises_input_error(pt.OpticalTissue, "t", blood_fraction=1.5, anisotropy=1.0, refractive_index=0.5,
                             scattering_500nm=-3.0)
    assert len(exc.problems) >= 4


@pytest.mark.parametrize(
    ("source", "path"),
    [
        (pt.IsotropicPoint(power=1.0, wavelength=NM808, position=(3e-3, 3e-3, 9e-3)), "sources[0].position"),
        (pt.CollimatedBeam(power=1.0, wavelength=NM808, position=(3e-3, 3e-3, 2e-3)), "sources[0].position"),
        (pt.CollimatedBeam(power=1.0, wavelength=NM808, position=(3e-3, 3e-3, 0.0), direction=(0, 0, -1)),
         "sources[0].direction"),
        (pt.CollimatedBeam(power=1.0, wavelength=NM808, position=(3e-3, 3e-3, 0.0), radius=5e-3),
         "sources[0].radius"),
        (pt.IsotropicPoint(power=1.0, wavelength=630e-9, position=(3e-3, 3e-3, 2e-3)), "sources[0].wavelength"),
    ],
    ids=["point-outside", "beam-off-surface", "beam-pointing-out", "beam-wider-than-face", "wrong-wavelength"],
)
def test_bad_light_source(source, path):
    exc = raises_input_error(pt.compute_light_fields, light_medium(), [source], device="cpu")
    assert path in paths(exc)


@pytest.mark.parametrize("photons", [0, -5, 2.5])
def test_monte_carlo_needs_a_whole_positive_number_of_photons(photons):
    point = pt.IsotropicPoint(power=1.0, wavelength=NM808, position=(3e-3, 3e-3, 2e-3))
    exc = raises_input_error(pt.light.simulate_monte_carlo, light_medium(), point, photons=photons, device="cpu")
    assert "photons" in paths(exc)
