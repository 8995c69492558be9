"""NPZ archives, probe CSV files and JSON summaries."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from phototherm.errors import InputError
from phototherm.grid import Grid
from phototherm.io.tables import read_npz, write_json, write_npz, write_probe_csv

GRID = Grid(shape=(4, 3, 2), spacing=(1e-3, 2e-3, 0.5e-3), origin=(-1e-3, 0.0, 2e-3))


def test_npz_round_trip(tmp_path):
    i, j, k = np.indices(GRID.shape)
    fields = {
        "temperature": (37.0 + i + 0.1 * j + 0.01 * k).astype(np.float32),
        "labels": (i + j).astype(np.int16),
        "damaged": i > 1,
        "file": np.zeros(GRID.shape),  # a keyword of numpy.savez: must still work
    }
    units = {"temperature": "degC", "labels": "1", "damaged": "1", "file": "1"}
    metadata = {"version": "0.1.0", "dt_s": np.float64(0.5), "steps": np.int64(3), "shape": GRID.shape}
    path = write_npz(tmp_path / "out" / "fields.npz", GRID, fields, units=units, metadata=metadata)
    assert path.name == "fields.npz"

    grid, read, read_units, read_metadata = read_npz(path)
    assert grid == GRID
    assert set(read) == set(fields)
    for name, array in fields.items():
        assert read[name].dtype == array.dtype
        np.testing.assert_array_equal(read[name], array)
    assert read_units == units
    assert read_metadata == {"version": "0.1.0", "dt_s": 0.5, "steps": 3, "shape": [4, 3, 2]}

    with np.load(path, allow_pickle=False) as raw:  # readable without phototherm
        assert json.loads(str(raw["units"])) == units
        np.testing.assert_array_equal(raw["grid_spacing_m"], GRID.spacing)


def test_npz_without_metadata(tmp_path):
    path = write_npz(tmp_path / "f.npz", GRID, {"T": np.zeros(GRID.shape)}, units={"T": "degC"})
    assert read_npz(path)[3] is None


def test_npz_rejects_bad_fields_and_units(tmp_path):
    with pytest.raises(InputError) as info:
        write_npz(
            tmp_path / "f.npz",
            GRID,
            {"T": np.zeros((2, 3, 4)), "grid_shape": np.zeros(GRID.shape), "Q": np.zeros(GRID.shape)},
            units={"T": "degC", "grid_shape": "1", "extra": "s"},
        )
    message = str(info.value)
    for expected in ["fields['T'].shape", "grid_shape", "units['Q']", "extra"]:
        assert expected in message
    assert list(tmp_path.iterdir()) == []


def probes():
    tumour = {
        "name": "tumour",
        "index": (2, 1, 1),
        "position_m": GRID.centre_of((2, 1, 1)),
        "values": [37.0, 41.5, 44.25],
    }
    skin = SimpleNamespace(
        name="skin",
        index=np.array([0, 0, 0]),
        position_m=GRID.centre_of((0, 0, 0)),
        values=np.array([37.0, 38, 39]),
    )
    return [tumour, skin]


def test_probe_csv_loads_with_numpy(tmp_path):
    times = np.array([0.0, 0.5, 1.0])
    path = write_probe_csv(tmp_path / "probes.csv", times, probes())
    lines = path.read_text().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    assert lines[: len(comments)] == comments  # comments come first
    assert lines[len(comments)] == "time_s,tumour_degC,skin_degC"
    text = "\n".join(comments)
    assert "quantity: temperature" in text and "unit: degC" in text
    assert "tumour: voxel (i, j, k) = (2, 1, 1), centre (x, y, z) = (1.5, 3, 2.75) mm" in text
    assert "skin: voxel (i, j, k) = (0, 0, 0), centre (x, y, z) = (-0.5, 1, 2.25) mm" in text

    data = np.loadtxt(path, delimiter=",", comments="#", skiprows=len(comments) + 1)
    np.testing.assert_array_equal(data, [[0.0, 37.0, 37.0], [0.5, 41.5, 38.0], [1.0, 44.25, 39.0]])


def test_probe_csv_rejects_bad_probes(tmp_path):
    bad = probes()
    bad[1].values = [1.0]
    bad.append({"name": "tumour", "index": (0, 0, 0), "position_m": (0, 0, 0), "values": [1, 2, 3]})
    bad.append({"name": "a,b"})
    with pytest.raises(InputError) as info:
        write_probe_csv(tmp_path / "p.csv", [0.0, 1.0, 2.0], bad)
    message = str(info.value)
    for expected in ["probes[1].values.shape", "unique probe names", "probes[3]", "position_m"]:
        assert expected in message
    assert not (tmp_path / "p.csv").exists()


def test_json_converts_numpy_paths_and_non_finite(tmp_path):
    obj = {
        "b": np.float32(1.5),
        "a": np.arange(3),
        "nested": {"flag": np.bool_(True), "shape": (2, 3), "where": Path("out") / "run"},
        "bad": [np.nan, np.inf, -np.inf, 1.0],
        "matrix": np.array([[1.0, np.nan]]),
    }
    path = write_json(tmp_path / "summary.json", obj)
    text = path.read_text()
    assert text.startswith('{\n  "b": 1.5')  # indent 2, insertion order kept
    assert list(json.loads(text)) == ["b", "a", "nested", "bad", "matrix"]
    assert json.loads(text) == {
        "b": 1.5,
        "a": [0, 1, 2],
        "nested": {"flag": True, "shape": [2, 3], "where": str(Path("out") / "run")},
        "bad": [None, None, None, 1.0],
        "matrix": [[1.0, None]],
    }
    assert "NaN" not in text and "Infinity" not in text


def test_json_names_unconvertible_values(tmp_path):
    with pytest.raises(InputError, match=r"obj\['run'\]\['tags'\]"):
        write_json(tmp_path / "x.json", {"run": {"tags": {"a", "b"}}})
    assert list(tmp_path.iterdir()) == []
