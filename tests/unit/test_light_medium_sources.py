"""Optical media and light sources: construction, mixing, validation messages."""

from __future__ import annotations

import math

import numpy as np
import pytest

import phototherm as pt
from phototherm.errors import Problems
from phototherm.light import CollimatedBeam, CylindricalDiffuser, IsotropicPoint, OpticalMedium, validate_sources
from phototherm.schedule import PowerSchedule

GRID = pt.Grid((10, 8, 6), 1e-3)
NM808 = 808e-9


def problems_of(source, grid=GRID):
    problems = Problems()
    source.validate(grid, "s", problems)
    return {p.path: p for p in problems.items}


# -- OpticalMedium ---------------------------------------------------------------------
def test_uniform_medium_derived_quantities():
    m = OpticalMedium.uniform(GRID, mua=30.0, mus=9000.0, g=0.9, n=1.37, wavelength=NM808)
    assert m.mua.shape == GRID.shape
    np.testing.assert_allclose(m.reduced_scattering, 900.0)
    np.testing.assert_allclose(m.transport, 930.0)
    np.testing.assert_allclose(m.diffusion_coefficient, 1 / (3 * 930.0))
    np.testing.assert_allclose(m.effective_attenuation, math.sqrt(3 * 30.0 * 930.0))


def test_from_labels_uses_each_tissue_and_reports_missing_labels():
    labels = np.zeros(GRID.shape, int)
    labels[:, :, 3:] = 1
    props = {0: type("P", (), dict(mua=10.0, mus=1000.0, g=0.8, n=1.4))(),
             1: type("P", (), dict(mua=50.0, mus=2000.0, g=0.9, n=1.33))()}
    m = OpticalMedium.from_labels(GRID, labels, props, NM808)
    assert m.mua[0, 0, 0] == 10.0 and m.mua[0, 0, 5] == 50.0
    assert m.n[0, 0, 5] == 1.33
    labels[0, 0, 0] = 7
    with pytest.raises(pt.InputError, match=r"missing \[7\]"):
        OpticalMedium.from_labels(GRID, labels, props, NM808)


def test_with_added_sums_coefficients_and_weights_anisotropy_by_scattering():
    m = OpticalMedium.uniform(GRID, mua=30.0, mus=9000.0, g=0.9, n=1.37, wavelength=NM808)
    extra = np.zeros(GRID.shape)
    extra[2, 2, 2] = 1000.0
    loaded = m.with_added(mua=extra, mus=extra, g=0.0)
    assert loaded.mua[2, 2, 2] == 1030.0 and loaded.mus[2, 2, 2] == 10000.0
    assert loaded.g[2, 2, 2] == pytest.approx(0.9 * 9000 / 10000)
    assert loaded.g[0, 0, 0] == 0.9 and loaded.mua[0, 0, 0] == 30.0
    with pytest.raises(pt.InputError, match="added.mua"):
        m.with_added(mua=-extra, mus=extra)


def test_medium_reports_every_bad_property_at_once():
    with pytest.raises(pt.InputError) as info:
        OpticalMedium.uniform(GRID, mua=float("nan"), mus=-1.0, g=1.0, n=0.5, wavelength=0.0, ambient_index=0.9)
    text = str(info.value)
    for key in ("medium.mua", "medium.mus", "medium.g", "medium.n", "medium.wavelength", "medium.ambient_index"):
        assert key in text


# -- sources ---------------------------------------------------------------------------
def test_beam_on_each_face_pointing_inward_is_valid():
    lx, ly, lz = GRID.lengths
    cases = {
        "x_min": ((0.0, ly / 2, lz / 2), (1, 0, 0)),
        "x_max": ((lx, ly / 2, lz / 2), (-1, 0, 0)),
        "y_max": ((lx / 2, ly, lz / 2), (0, -1, 0)),
        "z_min": ((lx / 2, ly / 2, 0.0), (0.3, 0, 1)),
    }
    for face, (position, direction) in cases.items():
        beam = CollimatedBeam(power=1.0, wavelength=NM808, position=position, direction=direction, radius=1e-3)
        assert beam.entry_face(GRID) == face
        assert problems_of(beam) == {}
    assert math.isclose(math.hypot(*beam.direction), 1.0)


def test_beam_off_the_surface_pointing_out_or_too_wide_is_refused():
    centre = (5e-3, 4e-3, 0.0)
    inside = CollimatedBeam(power=1.0, wavelength=NM808, position=(5e-3, 4e-3, 1e-3), direction=(0, 0, 1))
    assert "s.position" in problems_of(inside)
    outward = CollimatedBeam(power=1.0, wavelength=NM808, position=centre, direction=(0, 0, -1))
    assert "into the grid through its z_min face" in problems_of(outward)["s.direction"].expected
    wide = CollimatedBeam(power=1.0, wavelength=NM808, position=centre, direction=(0, 0, 1), radius=4.5e-3)
    assert "s.radius" in problems_of(wide)
    bad = CollimatedBeam(power=-1.0, wavelength=float("nan"), position=centre, direction=(0, 0, 0),
                         radius=-1.0, profile="tophat")
    assert {"s.power", "s.wavelength", "s.radius", "s.profile", "s.direction"} <= set(problems_of(bad))


def test_irradiance_of_flat_and_gaussian_beams():
    flat = CollimatedBeam(power=1.0, wavelength=NM808, position=(5e-3, 4e-3, 0), radius=2e-3)
    gauss = CollimatedBeam(power=1.0, wavelength=NM808, position=(5e-3, 4e-3, 0), radius=2e-3, profile="gaussian")
    assert flat.peak_irradiance == pytest.approx(1.0 / (math.pi * 4e-6))
    assert gauss.peak_irradiance == pytest.approx(2 * flat.peak_irradiance)
    assert (flat.kind, gauss.kind) == (0, 1)
    pencil = CollimatedBeam(power=1.0, wavelength=NM808, position=(5e-3, 4e-3, 0))
    assert pencil.peak_irradiance == math.inf


def test_interstitial_sources_must_lie_inside_the_grid():
    point = IsotropicPoint(power=0.1, wavelength=NM808, position=(5e-3, 4e-3, 3e-3))
    assert problems_of(point) == {} and point.kind == 2
    on_surface = IsotropicPoint(power=0.1, wavelength=NM808, position=(5e-3, 4e-3, 0.0))
    assert "s.position" in problems_of(on_surface)
    fibre = CylindricalDiffuser(power=0.2, wavelength=NM808, position=(5e-3, 4e-3, 3e-3), direction=(1, 0, 0),
                                length=4e-3)
    assert problems_of(fibre) == {} and fibre.kind == 3
    np.testing.assert_allclose(fibre.ends, ((3e-3, 4e-3, 3e-3), (7e-3, 4e-3, 3e-3)))
    too_long = CylindricalDiffuser(power=0.2, wavelength=NM808, position=(5e-3, 4e-3, 3e-3), direction=(1, 0, 0),
                                   length=12e-3)
    assert {"s.start (position -/+ length/2 along direction)", "s.end (position -/+ length/2 along direction)"} <= set(
        problems_of(too_long))


def test_validate_sources_checks_wavelength_and_emptiness():
    point = IsotropicPoint(power=0.1, wavelength=630e-9, position=(5e-3, 4e-3, 3e-3),
                           schedule=PowerSchedule.pulses(on=10, off=10, count=3))
    found = validate_sources(GRID, [point], NM808)
    assert [p.path for p in found.items] == ["sources[0].wavelength"]
    assert [p.path for p in validate_sources(GRID, []).items] == ["sources"]
    assert point.describe()["wavelength_nm"] == pytest.approx(630.0)
