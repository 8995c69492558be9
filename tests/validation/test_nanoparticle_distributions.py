"""Nanoparticle maps: conserved totals, symmetry, and the rim weighting law.

Totals are sums over voxels, so conservation is exact up to summation rounding
(1e-12 relative for <= 1e5 voxels). Symmetric set-ups must give mirror-symmetric
maps to rounding of the coordinates (1e-12). The rim profile is checked against
the formula in voxels whose depth is known in closed form.
"""

from __future__ import annotations

import numpy as np
import pytest

import phototherm.nanoparticles as nps
from phototherm.grid import Grid

SPACING = 0.25e-3


def sphere_mask(grid, centre, radius):
    X, Y, Z = grid.mesh()
    return (X - centre[0]) ** 2 + (Y - centre[1]) ** 2 + (Z - centre[2]) ** 2 <= radius**2


@pytest.fixture
def grid():
    return Grid((40, 40, 40), SPACING)


@pytest.fixture
def tumour(grid):
    return sphere_mask(grid, (5e-3, 5e-3, 5e-3), 3e-3)


def count(grid, density):
    return density.sum() * grid.cell_volume


def assert_mirror_symmetric(field):
    for axis in range(3):
        np.testing.assert_allclose(field, np.flip(field, axis=axis), rtol=1e-12, atol=0)


# -- uniform -------------------------------------------------------------------------------------
def test_uniform_total_and_support(grid, tumour):
    density = nps.uniform(grid, tumour, 1e15)
    assert count(grid, density) == pytest.approx(1e15 * tumour.sum() * grid.cell_volume, rel=1e-12)
    assert np.all(density[~tumour] == 0) and np.all(density[tumour] == 1e15)


# -- Gaussian ------------------------------------------------------------------------------------
def test_gaussian_total_is_exact_even_when_truncated(grid, tumour):
    total = 1e9
    # centred: symmetric, all particles inside the grid
    centred = nps.gaussian(grid, (5e-3, 5e-3, 5e-3), 1e-3, total_particles=total)
    assert count(grid, centred) == pytest.approx(total, rel=1e-12)
    assert_mirror_symmetric(centred)
    # off-centre, cut by the tumour mask and the grid edge: the count still holds
    cut = nps.gaussian(grid, (7.5e-3, 5e-3, 9.5e-3), (2e-3, 1e-3, 1.5e-3), total_particles=total, mask=tumour)
    assert count(grid, cut) == pytest.approx(total, rel=1e-12)
    assert np.all(cut[~tumour] == 0) and np.all(cut[tumour] > 0)


def test_gaussian_discrete_normalisation_matches_the_continuum(grid):
    """For a cloud more than 8 sigma from every face (tails < 1e-15) and sigma >= 2
    voxels, the midpoint sum of a Gaussian equals its integral to
    ~exp(-2 pi^2 sigma^2 / h^2) < 1e-30, so the normalised peak must equal
    total / ((2 pi)^(3/2) sigma_x sigma_y sigma_z)."""
    sigma = (0.5e-3, 0.55e-3, 0.6e-3)
    centre = (5.125e-3, 5.125e-3, 5.125e-3)  # a voxel centre
    density = nps.gaussian(grid, centre, sigma, total_particles=1e9)
    peak = 1e9 / ((2 * np.pi) ** 1.5 * np.prod(sigma))
    assert density[grid.index_of(centre)] == pytest.approx(peak, rel=1e-12)
    by_peak = nps.gaussian(grid, centre, sigma, peak_density=peak)
    np.testing.assert_allclose(by_peak, density, rtol=1e-12)


def test_gaussian_widths_along_each_axis(grid):
    """Second moments of the map equal sigma^2 on each axis (midpoint rule, exact to
    rounding for sigma >= 2 voxels and faces more than 8 sigma away)."""
    sigma = (0.5e-3, 0.55e-3, 0.6e-3)
    centre = (5e-3, 5e-3, 5e-3)
    density = nps.gaussian(grid, centre, sigma, total_particles=1.0)
    weights = density * grid.cell_volume
    for axis, coords in enumerate(grid.mesh()):
        variance = np.sum(weights * (coords - centre[axis]) ** 2)
        assert variance == pytest.approx(sigma[axis] ** 2, rel=1e-10)


# -- rim-enhanced --------------------------------------------------------------------------------
def test_rim_mean_is_conserved_and_map_symmetric(grid, tumour):
    density = nps.rim_enhanced(grid, tumour, 1e15, rim_width=0.5e-3, enhancement=5.0)
    assert density[tumour].mean() == pytest.approx(1e15, rel=1e-12)
    assert count(grid, density) == pytest.approx(count(grid, nps.uniform(grid, tumour, 1e15)), rel=1e-12)
    assert np.all(density[~tumour] == 0)
    assert_mirror_symmetric(density)


def test_rim_density_rises_towards_the_surface(grid, tumour):
    density = nps.rim_enhanced(grid, tumour, 1e15, rim_width=0.5e-3, enhancement=5.0)
    X, Y, Z = grid.mesh()
    r = np.sqrt((X - 5e-3) ** 2 + (Y - 5e-3) ** 2 + (Z - 5e-3) ** 2)
    edges = np.arange(0.0, 3.25e-3, 0.5e-3)
    shell_means = [density[tumour & (r >= lo) & (r < hi)].mean() for lo, hi in zip(edges[:-1], edges[1:])]
    assert np.all(np.diff(shell_means) > 0), shell_means
    # surface shell against the core: approaching the enhancement for a tumour much
    # larger than the rim (core depth 3 mm = 6 rim widths)
    assert 2.0 < shell_means[-1] / shell_means[0] < 5.0


def test_rim_profile_follows_the_law_in_a_slab():
    """A slab 20 voxels thick filling x and y: the depth of layer j is known exactly,
    min(j + 1, 20 - j) h - h/2, and the grid's x and y faces are not surfaces, so the
    density depends on z alone and follows 1 + (E - 1) exp(-d / w) up to the constant."""
    h = 0.1e-3
    grid = Grid((6, 5, 30), h)
    mask = np.zeros(grid.shape, bool)
    mask[:, :, 5:25] = True
    w, enhancement = 0.3e-3, 4.0
    density = nps.rim_enhanced(grid, mask, 2e15, rim_width=w, enhancement=enhancement)
    layer = density[0, 0, 5:25]
    np.testing.assert_allclose(density[:, :, 5:25], np.broadcast_to(layer, (6, 5, 20)), rtol=1e-14)
    j = np.arange(20)
    depth = np.minimum(j + 1, 20 - j) * h - h / 2
    profile = 1 + (enhancement - 1) * np.exp(-depth / w)
    np.testing.assert_allclose(layer / layer.mean(), profile / profile.mean(), rtol=1e-12)
    assert layer.mean() == pytest.approx(2e15, rel=1e-12)


def test_rim_with_no_enhancement_is_uniform(grid, tumour):
    np.testing.assert_allclose(
        nps.rim_enhanced(grid, tumour, 3e14, rim_width=1e-3, enhancement=1.0),
        nps.uniform(grid, tumour, 3e14),
        rtol=1e-14,
    )


def test_loaded_tumour_absorption_map(grid, tumour):
    """End to end: 1e9 shells/mL in the tumour, rim-weighted, at 808 nm: the mean
    absorption over the tumour is N C_abs whatever the weighting."""
    shell = nps.GoldNanoshell(120e-9, 10e-9).cross_sections(808e-9)
    n = nps.number_density_from_particles_per_ml(1e9)
    density = nps.rim_enhanced(grid, tumour, n, rim_width=0.5e-3, enhancement=3.0)
    mua, mus, g = nps.nanoparticle_optics(density, shell)
    assert mua[tumour].mean() == pytest.approx(n * shell.absorption, rel=1e-12)
    assert np.all(mua[~tumour] == 0) and np.all(mus[~tumour] == 0)
