"""Orthogonal slice plots are written as PNG files."""

import struct

import numpy as np
import pytest

from phototherm.errors import InputError
from phototherm.grid import Grid
from phototherm.viz.slices import plot_orthogonal_slices

pytest.importorskip("matplotlib")

GRID = Grid(shape=(30, 24, 16), spacing=(0.5e-3, 0.5e-3, 0.25e-3), origin=(-7.5e-3, -6e-3, 0.0))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def hot_spot():
    x, y, z = GRID.mesh()
    return 37.0 + 8.0 * np.exp(-((x - 1e-3) ** 2 + y**2 + (z - 2e-3) ** 2) / (2e-3) ** 2)


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("with_labels", [False, True])
def test_png_is_written(tmp_path, with_labels):
    labels = None
    if with_labels:
        labels = np.ones(GRID.shape, dtype=np.int32)
        labels[:, :, :4] = 2
        labels[10:20, 8:16, 6:12] = 3
    path = plot_orthogonal_slices(
        tmp_path / "figs" / "T.png", GRID, hot_spot(), title="Temperature", unit="degC", labels=labels
    )
    assert path == tmp_path / "figs" / "T.png"
    width, height = png_size(path)
    assert 800 <= width <= 4000 and 300 <= height <= 3000
    assert path.stat().st_size > 10_000
    assert [p.name for p in path.parent.iterdir()] == ["T.png"]


def test_explicit_point_and_limits(tmp_path):
    path = plot_orthogonal_slices(
        tmp_path / "T.png", GRID, hot_spot(), title="T", unit="degC", point=(0.0, 0.0, 1e-3), vmin=37, vmax=45
    )
    png_size(path)


def test_bad_arguments_are_reported(tmp_path):
    with pytest.raises(InputError) as info:
        plot_orthogonal_slices(
            tmp_path / "T.png",
            GRID,
            np.zeros((16, 24, 30)),
            title="T",
            unit="degC",
            labels=np.zeros(GRID.shape),
            vmin=2,
            vmax=1,
        )
    message = str(info.value)
    for expected in ["field.shape", "labels.dtype", "vmin"]:
        assert expected in message
    with pytest.raises(InputError):
        outside = (1.0, 0.0, 0.0)
        plot_orthogonal_slices(tmp_path / "T.png", GRID, hot_spot(), title="T", unit="degC", point=outside)
    with pytest.raises(InputError, match="finite"):
        plot_orthogonal_slices(tmp_path / "T.png", GRID, np.full(GRID.shape, np.nan), title="T", unit="degC")
    assert list(tmp_path.iterdir()) == []
