"""The simulation loop (callbacks, probes, snapshots, NaN check) and its results."""

import json

import numpy as np
import pytest

import phototherm as pt
from phototherm.io.tables import read_npz
from phototherm.io.vtk import read_vti


@pytest.fixture
def model():
    grid = pt.Grid((8, 7, 6), 1e-3)
    labels = np.zeros(grid.shape, np.int32)
    labels[:, :, 3:] = 1
    props = pt.ThermalProperties(grid, labels, {0: pt.tissues.thermal_tissue("skin"),
                                                1: pt.tissues.thermal_tissue("muscle")})
    source = pt.gaussian_heat_source(grid, (4e-3, 3.5e-3, 3e-3), 1.5e-3, total_power=0.3,
                                     schedule=pt.PowerSchedule.constant(stop=20.0))
    return pt.PennesModel(grid, props, heat_sources=[source],
                          boundaries=pt.BoundaryConditions(z_min=pt.Convective(10.0, 25.0),
                                                           z_max=pt.FixedTemperature(37.0)))


def test_step_lands_exactly_on_the_stop_time(model):
    sim = pt.Simulation(model, stop_time=30.0, device="cpu", progress=False)
    assert sim.dt <= 0.95 * model.critical_dt() * (1 + 1e-12)
    result = sim.run()
    assert result.time == 30.0 and sim.iteration == pytest.approx(30.0 / sim.dt)


def test_a_continued_run_equals_an_uninterrupted_one(model):
    whole = pt.Simulation(model, stop_time=30.0, dt=0.25, device="cpu", progress=False).run()
    sim = pt.Simulation(model, stop_time=20.0, dt=0.25, device="cpu", progress=False)
    sim.run()
    sim.stop_time = 30.0
    continued = sim.run()
    assert continued.time == 30.0 and sim.iteration == 120
    np.testing.assert_array_equal(continued.temperature, whole.temperature)
    np.testing.assert_array_equal(continued.cem43, whole.cem43)


def test_a_continuation_that_is_not_a_whole_number_of_steps_shortens_them(model):
    sim = pt.Simulation(model, stop_time=20.0, device="cpu", progress=False)
    sim.run()
    first_dt, start = sim.dt, sim.iteration
    sim.stop_time = 20.0 + 1.4 * first_dt
    sim.run()
    assert sim.iteration == start + 2 and sim.dt == pytest.approx(0.7 * first_dt)
    assert sim.time == sim.stop_time


def test_probes_record_their_voxel_every_step(model):
    point = (4.2e-3, 3.1e-3, 0.4e-3)
    sim = pt.Simulation(model, stop_time=10.0, device="cpu", progress=False, probes={"skin": point})
    result = sim.run()
    times, values = result.probe("skin")
    assert len(times) == sim.iteration + 1 and times[0] == 0.0 and times[-1] == 10.0
    index = model.grid.index_of(point)
    assert result.probe_voxels == [index] and values[-1] == result.temperature[index]
    assert values[0] == model.initial_temperature()[index]
    sparse = pt.Simulation(model, stop_time=10.0, device="cpu", progress=False, probes={"skin": point},
                           probe_interval=2.0).run()
    assert sparse.probe_times.tolist() == pytest.approx([0.0, 2.0, 4.0, 6.0, 8.0, 10.0], abs=sim.dt)


def test_snapshots_and_custom_callbacks_follow_their_schedules(model):
    sim = pt.Simulation(model, stop_time=12.0, device="cpu", progress=False, snapshot_interval=4.0,
                        snapshot_fields=("temperature", "cem43"))
    calls = {"every 5": [], "every 3 s": []}
    sim.callbacks["every 5"] = pt.Callback(lambda s: calls["every 5"].append(s.iteration), pt.IterationInterval(5))
    sim.callbacks["every 3 s"] = pt.Callback(lambda s: calls["every 3 s"].append(s.time), pt.TimeInterval(3.0))
    result = sim.run()
    assert [round(t / 4.0) for t, _ in result.snapshots] == [0, 1, 2, 3]
    assert set(result.snapshots[-1][1]) == {"temperature_degC", "cem43_min"}
    np.testing.assert_array_equal(result.snapshots[-1][1]["temperature_degC"], result.temperature)
    assert calls["every 5"][:-1] == list(range(5, sim.iteration, 5)) and calls["every 5"][-1] == sim.iteration
    assert [round(t / 3.0) for t in calls["every 3 s"]] == [1, 2, 3, 4]


def test_a_folder_with_snapshots_holds_every_field_or_the_selected_ones(model, tmp_path):
    """Snapshots (one is taken at t = 0, before the run) do not change which fields are written."""
    from phototherm.io.tables import read_npz

    sim = pt.Simulation(model, stop_time=8.0, device="cpu", progress=False, snapshot_interval=4.0)
    result = sim.run(tmp_path / "all", figures=False)
    _, written, _, _ = read_npz(tmp_path / "all" / "fields.npz")
    assert set(written) == set(result.fields) and len(written) > 3
    sim = pt.Simulation(model, stop_time=8.0, device="cpu", progress=False, snapshot_interval=4.0)
    sim.run(tmp_path / "some", figures=False, fields=["cem43_min", "time_above_s"])
    _, written, units, _ = read_npz(tmp_path / "some" / "fields.npz")
    assert set(written) == {"cem43_min", "time_above_43C_s"} and units["cem43_min"] == "min"


def test_nan_check_stops_the_run_and_names_the_voxel(model):
    sim = pt.Simulation(model, stop_time=10.0, device="cpu", progress=False, nan_check_interval=4)

    def poison(s):
        s.state.temperature[2, 3, 4] = np.nan

    sim.callbacks["poison"] = pt.Callback(poison, pt.IterationInterval(3))
    with pytest.raises(pt.SimulationDiverged) as err:
        sim.run()
    # planted after step 3; by the check after step 4 the NaN has reached the six
    # neighbours, the first of which in array order is (1, 3, 4)
    assert "iteration 4" in str(err.value) and "in 7 voxel(s)" in str(err.value)
    assert "first voxel (1, 3, 4) (muscle)" in str(err.value)


def test_result_fields_units_and_metrics(model):
    result = pt.Simulation(model, stop_time=30.0, device="cpu", progress=False, time_above_threshold=40.0).run()
    assert set(result.fields) == set(result.units)
    assert result.units["temperature_degC"] == "degC" and result.units["cem43_min"] == "min"
    assert "time_above_40C_s" in result.fields
    # muscle has no Arrhenius model: NaN there; skin has Henriques-Moritz
    skin, muscle = result.labels == 0, result.labels == 1
    assert np.isnan(result.omega[muscle]).all() and np.isfinite(result.omega[skin]).all()
    metrics = result.metrics(cem43_threshold=0.01)
    for name, mask in (("skin", skin), ("muscle", muscle)):
        row = metrics["per_tissue"][name]
        assert row["volume_mm3"] == pytest.approx(mask.sum() * 1.0)
        assert row["peak_temperature_C"] == result.max_temperature[mask].max()
        assert row["volume_cem43_ge_threshold_mm3"] == pytest.approx((result.cem43[mask] >= 0.01).sum())
    assert metrics["per_tissue"]["muscle"]["max_omega"] is None
    assert "skin" in result.report() and "muscle" in result.report()


def test_result_written_to_disk_round_trips(model, tmp_path):
    sim = pt.Simulation(model, stop_time=10.0, device="cpu", progress=False, probes={"c": (4e-3, 3e-3, 3e-3)},
                        snapshot_interval=5.0)
    result = sim.run()
    folder = result.write(tmp_path / "run", figures=False)
    grid, fields, units, field_data = read_vti(folder / "fields.vti")
    assert grid == model.grid and units == result.units
    for name, value in result.fields.items():
        np.testing.assert_array_equal(fields[name], value)
    assert field_data["phototherm_version"] == pt.__version__
    _, npz_fields, npz_units, metadata = read_npz(folder / "fields.npz")
    np.testing.assert_array_equal(npz_fields["cem43_min"], result.cem43)
    assert npz_units == result.units and metadata["time_s"] == 10.0
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["program"]["version"] == pt.__version__
    assert summary["device"]["backend"] == "cpu"
    assert summary["inputs"]["model"]["grid"]["shape"] == [8, 7, 6]
    assert summary["inputs"]["simulation"]["steps"] == sim.iteration
    assert set(summary["files"]) >= {"fields.vti", "fields.npz", "probes.csv", "snapshots.pvd", "summary.json"}
    assert (folder / "snapshots" / "snapshot_00002.vti").exists()


def test_run_with_output_streams_snapshots_and_appears_only_when_complete(model, tmp_path):
    out = tmp_path / "run"
    sim = pt.Simulation(model, stop_time=12.0, device="cpu", progress=False, snapshot_interval=4.0)
    seen = []

    def inspect(s):
        staged = list(tmp_path.glob(".run.partial-*"))
        seen.append((s.time, len(s.snapshot_files), out.exists(), len(staged),
                     len(list(staged[0].glob("snapshots/*.vti"))) if staged else 0))

    sim.callbacks["inspect"] = pt.Callback(inspect, pt.TimeInterval(6.0))
    result = sim.run(output=out, figures=False)
    # mid-run: snapshots already on disk in the hidden staging folder, no final folder yet
    time, in_memory_files, final_exists, staged, on_disk = seen[0]
    assert not final_exists and staged == 1 and on_disk == in_memory_files >= 2
    assert sim.snapshots == [] and [round(t / 4.0) for t, _ in result.snapshot_files] == [0, 1, 2, 3]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "complete" and "snapshots.pvd" in summary["files"]
    assert sorted(p.name for p in (out / "snapshots").iterdir()) == [f"snapshot_{n:05d}.vti" for n in range(4)]
    _, fields, units, _ = read_vti(out / "snapshots" / "snapshot_00003.vti")
    np.testing.assert_array_equal(fields["temperature_degC"], result.temperature)
    assert not list(tmp_path.glob(".run.*"))


def test_a_run_that_fails_leaves_no_output_folder(model, tmp_path):
    sim = pt.Simulation(model, stop_time=10.0, device="cpu", progress=False, nan_check_interval=2,
                        snapshot_interval=1.0)
    sim.callbacks["poison"] = pt.Callback(lambda s: s.state.temperature.fill(np.nan), pt.IterationInterval(5))
    with pytest.raises(pt.SimulationDiverged):
        sim.run(output=tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_output_that_is_a_file_is_refused_before_running(model, tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    sim = pt.Simulation(model, stop_time=10.0, device="cpu", progress=False)
    with pytest.raises(pt.InputError, match="output"):
        sim.run(output=target)
    assert sim.iteration == 0 and target.read_text() == "keep me"
