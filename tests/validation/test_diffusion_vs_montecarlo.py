"""Diffusion against Monte Carlo, more than three transport mean free paths from sources and boundaries.

The issue's requirement: the two light solvers agree within 5 % there. The
media are tissue-like in the ratio that matters to diffusion theory,
mua/mus' = 0.02 (NIR soft tissue: 0.3/cm over 10-15/cm), with isotropic
scattering (g = 0) so that the CPU Monte Carlo twin runs in seconds: diffusion
sees only mus' = mus (1 - g), and g = 0 is the case with the fewest
scattering events for a given mus'.

Tolerance: the 5 % of the issue is the model error allowed to diffusion; the
Monte Carlo estimate carries a statistical error (batch standard error, ~0.1 %
for the point-source shells and ~0.5 % for the beam's axial voxels), which must
not count against the model, hence ``0.05 + 3 SE``. Measured (2026-11-21):
point source, MC/diffusion = 0.974-0.990 from 3 to 8 mm (the transport field
decays slightly more slowly than diffusion's exp(-mu_eff r), and diffusion's
amplitude is a few % high at a few transport mean free paths); beam,
0.96-0.99 on the axis from 3 to 12 mm deep, an almost depth-independent
amplitude offset of ~2 % from diffusion's boundary condition and
delta-Eddington source. Near the illuminated surface diffusion is known to be
wrong by more than 5 % (14 % in the first voxel here): the test checks that
too, so that it can tell the two solvers apart.
"""

from __future__ import annotations

import numpy as np
import pytest

import phototherm as pt
from phototherm.light import CollimatedBeam, IsotropicPoint, OpticalMedium, simulate_monte_carlo, solve_diffusion

MUA, MUS = 20.0, 1000.0        # [1/m]: 0.02/mm, 1/mm, g = 0 -> transport mean free path 0.98 mm
TMFP = 1.0 / (MUA + MUS)       # [m]
WAVELENGTH = 808e-9
MODEL_TOLERANCE = 0.05


def both_solvers(medium, source, photons, seed):
    diffusion = np.asarray(solve_diffusion(medium, source, device="cpu").to_host().fluence_rate)
    mc = simulate_monte_carlo(medium, source, photons=photons, seed=seed, device="cpu", progress=False)
    return diffusion, mc


def distance_to_boundary(grid):
    X, Y, Z = grid.mesh()
    (x0, x1), (y0, y1), (z0, z1) = grid.bounds
    return np.minimum.reduce([X - x0, x1 - X, Y - y0, y1 - Y, Z - z0, z1 - Z])


def ratio_and_error(mc, diffusion, region):
    mc_sum = mc.fluence_rate[region].sum()
    diffusion_sum = diffusion[region].sum()
    error = np.sqrt((mc.fluence_rate_error[region] ** 2).sum())
    return mc_sum / diffusion_sum, error / diffusion_sum


def test_isotropic_point_source_in_a_block():
    grid = pt.Grid((41, 41, 41), 0.5e-3)
    medium = OpticalMedium.uniform(grid, mua=MUA, mus=MUS, g=0.0, n=1.0, wavelength=WAVELENGTH)
    centre = tuple(L / 2 for L in grid.lengths)
    diffusion, mc = both_solvers(medium, IsotropicPoint(power=1.0, wavelength=WAVELENGTH, position=centre),
                                 photons=100_000, seed=11)
    X, Y, Z = grid.mesh()
    r = np.sqrt((X - centre[0]) ** 2 + (Y - centre[1]) ** 2 + (Z - centre[2]) ** 2)
    far_from_boundary = distance_to_boundary(grid) > 3 * TMFP
    shells = np.arange(3 * TMFP, 9e-3, 1e-3)
    for r0 in shells:
        shell = (r >= r0) & (r < r0 + 1e-3) & far_from_boundary
        ratio, se = ratio_and_error(mc, diffusion, shell)
        assert abs(ratio - 1) <= MODEL_TOLERANCE + 3 * se, f"r = {r0 * 1e3:.1f} mm: MC/diffusion = {ratio:.4f} +/- {se:.4f}"
    assert mc.energy.absorbed == pytest.approx(diffusion.sum() * MUA * grid.cell_volume, rel=0.05)


def test_broad_beam_on_an_index_mismatched_surface():
    grid = pt.Grid((60, 60, 30), 0.5e-3)
    medium = OpticalMedium.uniform(grid, mua=MUA, mus=MUS, g=0.0, n=1.37, wavelength=WAVELENGTH, ambient_index=1.0)
    beam = CollimatedBeam(power=1.0, wavelength=WAVELENGTH, position=(15e-3, 15e-3, 0.0), direction=(0, 0, 1),
                          radius=8e-3)
    diffusion, mc = both_solvers(medium, beam, photons=200_000, seed=12)
    X, Y, Z = grid.mesh()
    near_axis = (X - 15e-3) ** 2 + (Y - 15e-3) ** 2 < (3e-3) ** 2
    depth_ok = distance_to_boundary(grid) > 3 * TMFP
    checked = 0
    for k in range(grid.shape[2]):
        layer = np.zeros(grid.shape, bool)
        layer[:, :, k] = True
        region = layer & near_axis & depth_ok
        if not region.any():
            continue
        ratio, se = ratio_and_error(mc, diffusion, region)
        assert abs(ratio - 1) <= MODEL_TOLERANCE + 3 * se, f"z = {(k + 0.5) * 0.5:.2f} mm: MC/diffusion = {ratio:.4f} +/- {se:.4f}"
        checked += 1
    assert checked >= 15  # 30 layers minus ~3 mm at each end
    # Within one transport mean free path of the illuminated surface diffusion is known to fail.
    surface = np.zeros(grid.shape, bool)
    surface[:, :, 0] = True
    ratio, se = ratio_and_error(mc, diffusion, surface & near_axis)
    assert ratio - 1 > MODEL_TOLERANCE + 3 * se
