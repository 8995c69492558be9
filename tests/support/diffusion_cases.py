"""Diffusion-solver test cases shared by the energy-balance validation and the GPU parity tests.

A random heterogeneous medium (per-voxel mua, mus, g, n) under a mismatched
ambient index, and one source of every kind, including an oblique Gaussian
beam clipped by its face and an oblique pencil.
"""

from __future__ import annotations

import numpy as np

import phototherm as pt
from phototherm.light import CollimatedBeam, CylindricalDiffuser, IsotropicPoint, OpticalMedium

WAVELENGTH = 808e-9


def heterogeneous_medium(shape=(17, 14, 12), h=0.4e-3, seed=5) -> OpticalMedium:
    """Random per-voxel optics (mua/mus' <= 0.08, n 1.33-1.45) under water-like ambient 1.2."""
    rng = np.random.default_rng(seed)
    grid = pt.Grid(shape, h)
    mus = 5000 + 10000 * rng.random(shape)
    g = 0.8 + 0.15 * rng.random(shape)
    mua = (0.005 + 0.075 * rng.random(shape)) * mus * (1 - g)
    n = 1.33 + 0.12 * rng.random(shape)
    return OpticalMedium(grid, mua, mus, g, n, WAVELENGTH, ambient_index=1.2)


def sources(grid: pt.Grid) -> dict:
    """One source of each kind, 1 W each, placed relative to the grid's lengths."""
    lx, ly, lz = grid.lengths
    common = dict(power=1.0, wavelength=WAVELENGTH)
    return {
        "point": IsotropicPoint(position=(2.1e-3, 3.3e-3, 1.7e-3), **common),
        "diffuser": CylindricalDiffuser(position=(lx / 2, ly / 2, lz / 2), direction=(1, 1, 0.5), length=4e-3,
                                        **common),
        "flat beam, normal": CollimatedBeam(position=(lx / 2, ly / 2, 0.0), direction=(0, 0, 1), radius=1.5e-3,
                                            **common),
        "gaussian beam, oblique, x_max, clipped": CollimatedBeam(
            position=(lx, ly / 2, lz / 2), direction=(-1, 0.3, -0.2), radius=1.6e-3, profile="gaussian", **common),
        "pencil, oblique": CollimatedBeam(position=(lx / 3, ly / 2, lz), direction=(0.6, 0.1, -1), **common),
    }
