"""Oxygen diffusion during PDT (phototherm.pdt.oxygen_diffusion) against exact solutions.

In the dark the oxygen equation with diffusion is linear,

    d[3O2]/dt = D d2[3O2]/dx2 + g (1 - [3O2]/[3O2]0),

and a cosine perturbation ``A cos(k x)`` of ``[3O2]0`` between impermeable
walls (``k = m pi / L``) decays as ``exp(-(D k^2 + g/[3O2]0) t)``.

* Discrete check: on the cell-centred grid the same cosine sampled at voxel
  centres is an exact eigenvector of the stencil with eigenvalue
  ``lambda_h = (2 - 2 cos(k h)) / h^2``. One step multiplies it by
  ``exp(-g dt/[3O2]0)`` (the kinetics' exact dark solution) and then by
  ``1 / (1 + D dt lambda_h)`` (backward Euler); the two operators commute on
  this mode, so the splitting adds no error and the amplitude after N steps
  is known exactly. Tolerance 1e-8: the CG solve's relative residual is 1e-10
  per step and 20 steps accumulate at most ~20x that, far below 1e-8.
* Time accuracy: against the semi-discrete solution (exact in time)
  ``exp(-(D lambda_h + g/[3O2]0) t)`` the error is first order in dt
  (backward Euler); halving dt must halve it (observed order 1 +/- 0.1). In
  space ``lambda_h = k^2 (1 - (k h)^2 / 12 + ...)``, the stencil's
  second-order consistency, checked for the bioheat stencil in
  tests/validation/test_periodic_fourier.py.
* Conservation: with impermeable faces diffusion neither creates nor removes
  oxygen; the total changes only by the CG residual (1e-10 relative).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import phototherm as pt
from phototherm.backend import resolve_backend
from phototherm.pdt import PhotodynamicTherapy, photosensitizer
from phototherm.pdt.oxygen_diffusion import OxygenDiffusion
from phototherm.pdt.treatment import PhotodynamicProcess

PHOTOFRIN = photosensitizer("photofrin")
O2_0, G = PHOTOFRIN.oxygen_initial, PHOTOFRIN.g  # uM, uM/s
D = 2e-9  # m^2/s, oxygen in tissue
NM630 = 630e-9


def dark_process(grid, oxygen):
    """A PDT process with oxygen diffusion and no light (a 0 W fibre)."""
    medium = pt.OpticalMedium.uniform(grid, mua=30.0, mus=10000.0, g=0.9, n=1.37, wavelength=NM630)
    dark = pt.IsotropicPoint(power=0.0, wavelength=NM630, position=tuple(L / 2 for L in grid.lengths))
    therapy = PhotodynamicTherapy(PHOTOFRIN, concentration_uM=7.0, light=pt.compute_light_fields(medium, [dark]),
                                  oxygen_uM=oxygen, oxygen_diffusivity=D)
    return PhotodynamicProcess(therapy, grid, resolve_backend("cpu", "float64"))


def cosine_mode(n, h, mode=1, amplitude=10.0):
    grid = pt.Grid((n, 2, 2), h)
    k = mode * math.pi / (n * h)
    x = grid.centres(0)
    profile = np.cos(k * x)[:, None, None] * np.ones(grid.shape)
    return grid, k, O2_0 + amplitude * profile, profile


def amplitude_of(oxygen, profile):
    return float(np.sum((oxygen - O2_0) * profile) / np.sum(profile * profile))


def run(process, dt, steps):
    for n in range(steps):
        process.step(n * dt, (n + 1) * dt)
    return process.state.oxygen


def test_a_cosine_mode_decays_exactly_as_the_discrete_split_scheme_predicts():
    n, h, dt, steps = 32, 50e-6, 0.5, 20
    grid, k, oxygen, profile = cosine_mode(n, h)
    final = run(dark_process(grid, oxygen), dt, steps)
    lam = (2 - 2 * math.cos(k * h)) / h**2
    factor = math.exp(-G * dt / O2_0) / (1 + D * dt * lam)
    np.testing.assert_allclose(final, O2_0 + 10.0 * factor**steps * profile, rtol=1e-8)


def test_the_decay_converges_at_first_order_in_dt_to_the_time_exact_solution():
    n, h, t_end = 32, 50e-6, 4.0
    errors = []
    for dt in (0.4, 0.2, 0.1):
        grid, k, oxygen, profile = cosine_mode(n, h)
        final = run(dark_process(grid, oxygen), dt, round(t_end / dt))
        lam = (2 - 2 * math.cos(k * h)) / h**2
        exact = 10.0 * math.exp(-(D * lam + G / O2_0) * t_end)
        errors.append(abs(amplitude_of(final, profile) - exact) / exact)
    orders = [math.log2(a / b) for a, b in zip(errors, errors[1:])]
    assert all(o == pytest.approx(1.0, abs=0.1) for o in orders), (errors, orders)


def test_diffusion_conserves_oxygen_between_impermeable_faces():
    grid = pt.Grid((12, 10, 8), 0.1e-3)
    rng = np.random.default_rng(7)
    oxygen = rng.uniform(0.0, 40.0, grid.shape)
    diffusivity = rng.uniform(1e-9, 3e-9, grid.shape)  # heterogeneous
    total = oxygen.sum()
    OxygenDiffusion(diffusivity, grid, np, np.float64).step(oxygen, 2.0)
    assert oxygen.sum() == pytest.approx(total, rel=1e-10)
    assert oxygen.min() >= 0.0
