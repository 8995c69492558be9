"""Photosensitizer concentration maps [uM] and their absorption at the treatment wavelength.

The sensitizer absorbs light before the light field is computed: its
absorption ``extinction x [S0]`` [1/m] is added to the tissue's, e.g.

>>> import numpy as np
>>> import phototherm as pt
>>> from phototherm.pdt import photosensitizer, concentration_by_label, sensitizer_absorption
>>> grid = pt.Grid((4, 4, 4), 1e-3)
>>> labels = np.zeros(grid.shape, int); labels[1:3, 1:3, 1:3] = 1
>>> conc = concentration_by_label(labels, {0: 1.0, 1: 7.0})          # uM per label
>>> mua = sensitizer_absorption(conc, photosensitizer("photofrin"), 630e-9)
>>> round(float(mua.max()), 6)                                       # 0.0035 1/cm/uM x 7 uM in 1/m
2.45

then ``medium.with_added(mua=mua, mus=0.0)``. Any array of ``grid.shape``
[uM] also serves as a map (the number-density distributions of
:mod:`phototherm.nanoparticles.distributions` are unit-agnostic and give
Gaussian or rim-weighted shapes).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..errors import Problems
from .photosensitizers import Photosensitizer

__all__ = ["concentration_by_label", "sensitizer_absorption"]


def concentration_by_label(labels: np.ndarray, concentrations_uM: Mapping[int, float]) -> np.ndarray:
    """A concentration map [uM] from one concentration per tissue label.

    Parameters
    ----------
    labels : ndarray of int
        Tissue label of every voxel.
    concentrations_uM : mapping of int to float
        Concentration [uM] in each label; labels not listed get 0.

    Raises
    ------
    InputError
        Negative, NaN or infinite concentrations (each named by its label),
        or labels that are not integers.
    """
    problems = Problems()
    labels = np.asarray(labels)
    problems.check(labels.dtype.kind in "iub", "labels", labels, "an integer label map")
    for label, value in concentrations_uM.items():
        problems.non_negative(value, f"concentrations_uM[{label!r}]", "[uM]")
    problems.raise_if_any("invalid photosensitizer concentrations")
    out = np.zeros(labels.shape)
    for label, value in concentrations_uM.items():
        out[labels == label] = float(value)
    return out


def sensitizer_absorption(concentration_uM, sensitizer: Photosensitizer, wavelength: float) -> np.ndarray:
    """Absorption coefficient of the sensitizer [1/m]: extinction at ``wavelength`` x concentration.

    Parameters
    ----------
    concentration_uM : ndarray or float
        Concentration [uM].
    sensitizer : Photosensitizer
    wavelength : float
        Vacuum wavelength [m]; must be one the sensitizer has absorption data for.

    Raises
    ------
    InputError
        A wavelength without absorption data (the available ones listed), or
        negative/NaN concentrations.
    """
    return np.asarray(sensitizer.absorption(concentration_uM, wavelength), dtype=float)
