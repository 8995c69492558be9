"""Photosensitizer concentration maps and their absorption at the treatment wavelength."""

from __future__ import annotations

import numpy as np
import pytest

import phototherm as pt
from phototherm.pdt import concentration_by_label, photosensitizer, sensitizer_absorption


def test_concentration_by_label_and_absorption_add_to_the_medium():
    grid = pt.Grid((4, 4, 4), 1e-3)
    labels = np.zeros(grid.shape, int)
    labels[:, :, 2:] = 1
    conc = concentration_by_label(labels, {1: 7.0})
    assert conc[0, 0, 0] == 0.0 and conc[0, 0, 3] == 7.0
    mua = sensitizer_absorption(conc, photosensitizer("photofrin"), 630e-9)
    np.testing.assert_allclose(mua[0, 0, 3], 0.0035 * 100 * 7.0)   # 1/cm/uM x uM -> 1/m
    medium = pt.OpticalMedium.uniform(grid, mua=20.0, mus=10000.0, g=0.9, n=1.37, wavelength=630e-9)
    loaded = medium.with_added(mua=mua, mus=0.0)
    assert loaded.mua[0, 0, 3] == pytest.approx(20.0 + 2.45) and loaded.mua[0, 0, 0] == 20.0


def test_bad_concentrations_and_wavelengths_are_named():
    labels = np.zeros((2, 2, 2), int)
    with pytest.raises(pt.InputError) as info:
        concentration_by_label(labels, {0: -1.0, 1: float("nan")})
    assert "concentrations_uM[0]" in str(info.value) and "concentrations_uM[1]" in str(info.value)
    with pytest.raises(pt.InputError, match="630 nm"):
        sensitizer_absorption(np.ones(3), photosensitizer("photofrin"), 808e-9)
    with pytest.raises(pt.InputError, match="labels"):
        concentration_by_label(np.zeros((2, 2, 2)), {0: 1.0})
