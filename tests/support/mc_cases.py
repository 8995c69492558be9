"""Monte Carlo test cases shared by the host-build and GPU parity tests.

A small heterogeneous medium that exercises every branch of the kernel:
voxels without absorption, without scattering or with isotropic scattering,
refractive-index steps inside (Fresnel reflection, refraction, total internal
reflection), a mismatched ambient index, roulette (high albedo keeps photons
long enough), and one source of each kind entering or starting anywhere.
Also the driver call and the centred beam the unit and validation tests share.
"""

from __future__ import annotations

import numpy as np

import phototherm as pt
from phototherm.light import CollimatedBeam, CylindricalDiffuser, IsotropicPoint, OpticalMedium
from phototherm.light.montecarlo import MonteCarloResult, simulate_monte_carlo

WAVELENGTH = 800e-9


def heterogeneous_medium(seed: int = 1, shape=(10, 9, 8), spacing=(0.5e-3, 0.4e-3, 0.3e-3),
                         ambient_index: float = 1.0) -> OpticalMedium:
    """Random mua [1/m], mus [1/m], g, n per voxel, each with special values sprinkled in."""
    rng = np.random.default_rng(seed)
    grid = pt.Grid(shape, spacing, origin=(1e-3, 0.0, -2e-3))

    def sprinkle(a, value=0.0, fraction=0.1):
        a[rng.random(grid.shape) < fraction] = value
        return a

    mua = sprinkle(rng.uniform(0.0, 3000.0, grid.shape))
    mus = sprinkle(rng.uniform(5e3, 5e4, grid.shape))
    g = sprinkle(rng.uniform(-0.3, 0.95, grid.shape))
    n = rng.choice([1.33, 1.4, 1.5], grid.shape)
    return OpticalMedium(grid, mua, mus, g, n, WAVELENGTH, ambient_index=ambient_index)


def sources(grid: pt.Grid) -> dict:
    """One source of each kind, beams on three different faces, one oblique."""
    (x0, x1), (y0, y1), (z0, z1) = grid.bounds
    xc, yc, zc = (x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2
    common = dict(power=1.0, wavelength=WAVELENGTH)
    return {
        "flat_oblique": CollimatedBeam(position=(xc, yc, z0), direction=(0.3, -0.2, 1.0), radius=0.8e-3, **common),
        "gaussian": CollimatedBeam(position=(x1, yc, zc), direction=(-1.0, 0.1, 0.2), radius=1.1e-3,
                                   profile="gaussian", **common),
        "pencil": CollimatedBeam(position=(xc, y0, zc), direction=(0.0, 1.0, 0.0), **common),
        "point": IsotropicPoint(position=(xc - 0.7e-3, yc + 0.3e-3, zc), **common),
        "line": CylindricalDiffuser(position=(xc, yc, zc), direction=(1.0, 1.0, 0.3), length=2e-3, **common),
    }


def centre_beam(grid: pt.Grid, **kwargs) -> CollimatedBeam:
    """A 1 W beam at :data:`WAVELENGTH` entering the centre of the z_min face, along +z by default.

    ``kwargs`` go to :class:`~phototherm.light.CollimatedBeam` (``radius``,
    ``profile``, ``direction``, ...).
    """
    (x0, x1), (y0, y1), (z0, _) = grid.bounds
    kwargs.setdefault("direction", (0, 0, 1))
    return CollimatedBeam(power=1.0, wavelength=WAVELENGTH, position=((x0 + x1) / 2, (y0 + y1) / 2, z0), **kwargs)


def run(medium: OpticalMedium, source, photons: int = 2000, **kwargs) -> MonteCarloResult:
    """:func:`~phototherm.light.montecarlo.simulate_monte_carlo` on the CPU without a progress bar by default."""
    kwargs.setdefault("device", "cpu")
    kwargs.setdefault("progress", False)
    return simulate_monte_carlo(medium, source, photons=photons, **kwargs)
