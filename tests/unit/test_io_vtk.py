"""VTK ImageData output: ordering, geometry, dtypes, units, and what PyVista reads back."""

import numpy as np
import pytest

from phototherm.errors import InputError
from phototherm.grid import Grid
from phototherm.io.vtk import from_vtk_order, read_vti, to_pyvista, to_vtk_order, write_pvd, write_vti

# Non-cubic, anisotropic, off-origin: an axis mix-up or half-voxel shift cannot pass.
GRID = Grid(shape=(5, 4, 3), spacing=(1.0e-3, 0.5e-3, 0.25e-3), origin=(-2.0e-3, 1.5e-3, 0.75e-3))
DTYPES = [np.float32, np.float64, np.int8, np.int16, np.int32, np.int64]
DTYPES += [np.uint8, np.uint16, np.uint32, np.uint64]


def encoded_index(grid, dtype=np.float64):
    """Field whose value at voxel (i, j, k) is 100 i + 10 j + k."""
    i, j, k = np.indices(grid.shape)
    return (100 * i + 10 * j + k).astype(dtype)


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip_is_exact_for_every_dtype(tmp_path, compress):
    fields = {np.dtype(d).name: encoded_index(GRID, d) for d in DTYPES}
    fields["special"] = np.full(GRID.shape, np.nan)
    fields["special"][0, 1, 2] = np.inf
    fields["special"][4, 3, 1] = -1.0e-300
    path = write_vti(
        tmp_path / "f.vti",
        GRID,
        fields,
        units={"float64": "degC"},
        field_data={"program": "phototherm test"},
        compress=compress,
    )
    grid, read, units, field_data = read_vti(path)
    assert grid == GRID
    assert set(read) == set(fields)
    for name, array in fields.items():
        assert read[name].dtype == array.dtype
        assert read[name].flags.c_contiguous
        np.testing.assert_array_equal(read[name], array)
    assert units == {"float64": "degC"}
    assert field_data == {"program": "phototherm test"}


def test_fields_spanning_several_compression_blocks(tmp_path):
    rng = np.random.default_rng(1)
    for shape in [(32, 33, 34), (32, 32, 32)]:  # a partial last block; 8 full 32 KiB blocks
        grid = Grid(shape=shape, spacing=1e-3)
        noise = rng.standard_normal(grid.shape)
        path = write_vti(tmp_path / "big.vti", grid, {"noise": noise})
        np.testing.assert_array_equal(read_vti(path)[1]["noise"], noise)


def test_bool_is_stored_as_uint8(tmp_path):
    mask = encoded_index(GRID) > 200
    _, fields, _, _ = read_vti(write_vti(tmp_path / "m.vti", GRID, {"mask": mask}))
    assert fields["mask"].dtype == np.uint8
    np.testing.assert_array_equal(fields["mask"], mask)


def test_adapter_is_x_fastest_and_round_trips():
    field = encoded_index(GRID)
    flat = to_vtk_order(field)
    nx, ny, _ = GRID.shape
    for i, j, k in [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (4, 3, 2)]:
        assert flat[i + nx * (j + ny * k)] == field[i, j, k]
    back = from_vtk_order(flat, GRID.shape)
    assert back.flags.c_contiguous
    np.testing.assert_array_equal(back, field)


def test_adapter_rejects_bad_shapes():
    with pytest.raises(InputError):
        to_vtk_order(np.zeros((2, 3)))
    with pytest.raises(InputError):
        from_vtk_order(np.zeros(7), (2, 2, 2))


@pytest.mark.parametrize("compress", [True, False])
def test_pyvista_reads_geometry_cell_data_and_units(tmp_path, compress):
    pv = pytest.importorskip("pyvista")
    field = encoded_index(GRID)
    path = write_vti(
        tmp_path / "f.vti",
        GRID,
        {"code": field, "labels": field.astype(np.int32)},
        units={"code": "degC", "labels": "1"},
        field_data={"version": "0.1.0"},
        compress=compress,
    )
    mesh = pv.read(path)
    assert mesh.dimensions == tuple(n + 1 for n in GRID.shape)
    np.testing.assert_allclose(mesh.origin, GRID.origin, rtol=0, atol=0)
    np.testing.assert_allclose(mesh.spacing, GRID.spacing, rtol=0, atol=0)
    assert mesh.n_cells == GRID.size
    np.testing.assert_array_equal(from_vtk_order(np.asarray(mesh.cell_data["code"]), GRID.shape), field)
    assert mesh.cell_data["labels"].dtype == np.int32
    assert list(mesh.field_data["unit:code"]) == ["degC"]
    assert list(mesh.field_data["unit:labels"]) == ["1"]
    assert list(mesh.field_data["version"]) == ["0.1.0"]

    # The VTK cell holding voxel (i, j, k)'s value sits at the voxel's centre.
    centres = np.asarray(mesh.cell_centers().points)
    values = np.asarray(mesh.cell_data["code"])
    for i, j, k in [(0, 0, 0), (4, 1, 2), (2, 3, 1)]:
        (cell,) = np.flatnonzero(values == 100 * i + 10 * j + k)
        expected = [GRID.centres(0)[i], GRID.centres(1)[j], GRID.centres(2)[k]]
        np.testing.assert_allclose(centres[cell], expected, rtol=0, atol=1e-12)


def test_to_pyvista_matches_file(tmp_path):
    pytest.importorskip("pyvista")
    field = encoded_index(GRID)
    mesh = to_pyvista(GRID, {"code": field})
    assert mesh.dimensions == tuple(n + 1 for n in GRID.shape)
    np.testing.assert_allclose(mesh.origin, GRID.origin, rtol=0, atol=0)
    np.testing.assert_array_equal(mesh.cell_data["code"], to_vtk_order(field))


def test_wrong_shape_dtype_and_units_are_reported_together(tmp_path):
    path = tmp_path / "bad.vti"
    with pytest.raises(InputError) as info:
        write_vti(
            path,
            GRID,
            {"transposed": np.zeros(GRID.shape[::-1]), "complex": np.zeros(GRID.shape, complex)},
        )
    message = str(info.value)
    assert "cell_fields['transposed'].shape" in message
    assert "cell_fields['complex'].dtype" in message
    with pytest.raises(InputError, match="names of written fields"):
        write_vti(path, GRID, {"a": np.zeros(GRID.shape)}, units={"b": "degC"})
    with pytest.raises(InputError, match="field_data"):
        write_vti(path, GRID, {"a": np.zeros(GRID.shape)}, field_data={"unit:a": "K"})
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_pvd_lists_time_series(tmp_path):
    path = write_pvd(tmp_path / "series.pvd", [(0.0, "steps/t0.vti"), (30.5, "steps/t1.vti")])
    text = path.read_text()
    assert 'type="Collection"' in text
    assert 'timestep="30.5"' in text and 'file="steps/t1.vti"' in text
    with pytest.raises(InputError):
        write_pvd(tmp_path / "bad.pvd", [(1.0, "a.vti"), (1.0, "b.vti")])
    with pytest.raises(InputError):
        write_pvd(tmp_path / "bad.pvd", [(0.0, tmp_path / "a.vti")])


def test_pvd_is_read_by_pyvista(tmp_path):
    pv = pytest.importorskip("pyvista")
    for n in range(2):
        write_vti(tmp_path / f"t{n}.vti", GRID, {"code": encoded_index(GRID) + n})
    reader = pv.get_reader(write_pvd(tmp_path / "series.pvd", [(0.0, "t0.vti"), (60.0, "t1.vti")]))
    assert list(reader.time_values) == [0.0, 60.0]
    reader.set_active_time_value(60.0)
    mesh = reader.read()[0]
    code = from_vtk_order(np.asarray(mesh.cell_data["code"]), GRID.shape)
    np.testing.assert_array_equal(code, encoded_index(GRID) + 1)


def test_module_imports_without_heavy_dependencies():
    import subprocess
    import sys

    code = (
        "import sys; import phototherm.io.vtk, phototherm.io.tables, phototherm.viz.slices; "
        "heavy = [m for m in ('pyvista', 'vtk', 'vtkmodules', 'matplotlib') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
