"""Voxelised DVHs converge to the analytic DVH of a radial field over a sphere.

Reference: T(r) = a + b r over a ball of radius R (b > 0). The volume fraction
with T >= d is the shell rho <= r <= R, rho = (d - a) / b:

    V(>= d) = 1 - ((d - a) / (b R))^3,     D_x = a + b R (1 - x)^(1/3).

Voxelisation: the structure is the set of voxels whose centre c lies in the
ball, each carrying T at its centre. Its DVH at level d is
F(rho) = 1 - N(< rho) / N(<= R), with N(< r) the number of voxel centres
within r of the sphere's centre.

Tolerance, from the voxelisation error: with delta = |spacing| / 2 (half the
voxel diagonal), every voxel lies within delta of its centre, and the voxels
tile space, so the voxels with centres inside a ball of radius r cover the
ball of radius r - delta and lie inside the ball of radius r + delta:

    (r - delta)_+^3 <= N(< r) h_x h_y h_z / (4 pi / 3) <= (r + delta)^3.

Hence, rigorously (no fitted constant),

    1 - ((rho + delta) / (R - delta))^3 <= F(rho) <= 1 - ((rho - delta)_+ / (R + delta))^3,

and, since D_x is the level at which F crosses x,

    a + b ((1 - x)^(1/3) (R - delta) - delta) <= D_x <= a + b ((1 - x)^(1/3) (R + delta) + delta).

Both brackets contain the analytic value and shrink linearly with the spacing:
the DVH and D_x converge at (at least) first order. The lattice-point error
cancels in practice, so the observed error falls faster; the test also asks
that it fall at least at first order from one spacing to the next.
"""

import math

import numpy as np
import pytest

from phototherm.grid import Grid
from phototherm.planning import Structure, cumulative_dvh, dose_at_volume, evaluate

R = 2.0e-3  # sphere radius [m]
A = 37.0  # temperature at the centre [C]
B = 5.0e3  # radial gradient [C/m]: 47 C at the surface
COVERAGE = (0.5, 0.9, 0.95)
ROUNDING = 1e-12  # slack for levels recomputed from rounded temperatures


def voxelised_sphere(spacing):
    """Grid, the ball's voxels as a Structure, and T = a + b r at the voxel centres."""
    spacing = np.broadcast_to(np.asarray(spacing, float), (3,))
    delta = 0.5 * float(np.linalg.norm(spacing))
    shape = [2 * math.ceil((R + delta) / h) + 4 for h in spacing]  # covers the ball of radius R + delta
    grid = Grid(shape, tuple(spacing))
    # A centre off every lattice symmetry, so the result does not hinge on a special alignment.
    centre = np.array(grid.lengths) / 2 + np.array([0.17, 0.31, 0.07]) * spacing
    x, y, z = grid.mesh()
    r = np.sqrt((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2)
    return grid, Structure("sphere", r <= R), A + B * r, delta


def analytic_fraction(rho):
    return 1.0 - np.clip(rho / R, 0.0, 1.0) ** 3


def fraction_bracket(rho, delta):
    lo = 1.0 - ((rho + delta) / (R - delta)) ** 3
    hi = 1.0 - (np.maximum(rho - delta, 0.0) / (R + delta)) ** 3
    return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)


def dose_bracket(x, delta):
    q = (1.0 - x) ** (1.0 / 3.0)
    return A + B * (q * (R - delta) - delta), A + B * (q * (R + delta) + delta)


def sup_error(curve):
    """Largest |F - analytic| of the step function: at each level and just above it."""
    rho = (curve.levels - A) / B
    exact = analytic_fraction(rho)
    above = np.append(curve.fractions[1:], 0.0)  # F on (level_i, level_i+1] is F(level_i+1)
    return float(max(np.max(np.abs(curve.fractions - exact)), np.max(np.abs(above - exact))))


@pytest.mark.parametrize("spacing", [R / 4, R / 8, R / 16, R / 32, (R / 12, 1.3 * R / 12, 0.8 * R / 12)],
                         ids=["R/4", "R/8", "R/16", "R/32", "anisotropic"])
def test_dvh_and_dx_lie_in_the_voxelisation_bracket(spacing):
    grid, sphere, temperature, delta = voxelised_sphere(spacing)
    values = temperature[sphere.mask]
    curve = cumulative_dvh(values)
    rho = (curve.levels - A) / B
    lo, hi = fraction_bracket(rho, delta)
    assert np.all(curve.fractions >= lo - ROUNDING)
    assert np.all(curve.fractions <= hi + ROUNDING)
    assert np.all((analytic_fraction(rho) >= lo) & (analytic_fraction(rho) <= hi))
    table = evaluate({"max_temperature_degC": temperature}, [sphere], quantities=["T_max"],
                     coverage=COVERAGE, voxel_volume=grid.cell_volume)["sphere"]["T_max"]
    for x in COVERAGE:
        d_lo, d_hi = dose_bracket(x, delta)
        d = dose_at_volume(values, x)
        assert d_lo - ROUNDING <= d <= d_hi + ROUNDING, (x, d, d_lo, d_hi)
        assert table[f"D{100 * x:g}"] == d
    # The structure's volume is the ball's, within the same covering bound.
    assert (4 / 3 * math.pi * (R - delta) ** 3 <= sphere.n_voxels * grid.cell_volume
            <= 4 / 3 * math.pi * (R + delta) ** 3)


def test_lower_direction_dvh_of_a_decreasing_function_converges_too():
    # S = exp(-(T - a) / c) decreases with r: "fraction with S <= s" is "fraction with T >= a - c ln s".
    c = 2.0  # [C]
    grid, sphere, temperature, delta = voxelised_sphere(R / 16)
    survival = np.exp(-(temperature - A) / c)
    curve = cumulative_dvh(survival[sphere.mask], direction="lower")
    rho = (A - c * np.log(curve.levels) - A) / B
    lo, hi = fraction_bracket(rho, delta)
    slack = 1e-9  # exp/log round trip moves rho by ~1e-16 relative; one voxel is 6e-5 of the volume
    assert np.all((curve.fractions >= lo - slack) & (curve.fractions <= hi + slack))
    d90 = dose_at_volume(survival[sphere.mask], 0.9, direction="lower")
    t_lo, t_hi = dose_bracket(0.9, delta)
    assert math.exp(-(t_hi - A) / c) * (1 - slack) <= d90 <= math.exp(-(t_lo - A) / c) * (1 + slack)


def test_observed_error_shrinks_at_least_at_first_order():
    spacings = [R / 4, R / 8, R / 16, R / 32]
    dvh_errors, d90_errors, widths = [], [], []
    exact_d90 = A + B * R * 0.1 ** (1 / 3)
    for h in spacings:
        _, sphere, temperature, delta = voxelised_sphere(h)
        values = temperature[sphere.mask]
        dvh_errors.append(sup_error(cumulative_dvh(values)))
        d90_errors.append(abs(dose_at_volume(values, 0.9) - exact_d90))
        lo, hi = dose_bracket(0.9, delta)
        widths.append(hi - lo)
    # Halving the spacing must at least halve the DVH error (first order, the bracket's rate).
    for coarse, fine in zip(dvh_errors, dvh_errors[1:]):
        assert fine <= coarse / 2, dvh_errors
    # D90 error is bounded by the bracket, whose width halves with the spacing (first order).
    assert all(e <= w for e, w in zip(d90_errors, widths))
    assert widths[-1] == pytest.approx(widths[0] / 8, rel=1e-9)
