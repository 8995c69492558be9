"""Unit tests of phototherm.nanoparticles: bad input, vectorisation, conversions, data, imports."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import phototherm.nanoparticles as nps
from phototherm.errors import InputError
from phototherm.grid import Grid
from phototherm.nanoparticles import (
    CrossSections,
    GoldNanorod,
    GoldNanoshell,
    GoldSphere,
    concentration,
    distributions,
    gold,
    mie,
    optics,
    particles,
)


def problem_paths(excinfo) -> list[str]:
    return [p.path for p in excinfo.value.problems]


# -- data ----------------------------------------------------------------------------------------
def test_bundled_gold_table_is_the_published_one():
    lam, n, k = nps.johnson_christy_table()
    assert lam.shape == n.shape == k.shape == (49,)
    # first, a middle and the last row of the README / Johnson & Christy table
    assert (lam[0], n[0], k[0]) == (pytest.approx(0.1879e-6, rel=1e-15), 1.28, 1.188)
    assert (lam[41], n[41], k[41]) == (pytest.approx(0.8211e-6, rel=1e-15), 0.16, 5.083)
    assert (lam[-1], n[-1], k[-1]) == (pytest.approx(1.937e-6, rel=1e-15), 0.92, 13.78)
    assert np.all(np.diff(lam) > 0)
    assert nps.GOLD_WAVELENGTH_RANGE == (lam[0], lam[-1])


def test_data_readme_ships_with_the_package():
    from importlib import resources

    text = resources.files("phototherm.nanoparticles").joinpath("data/README.md").read_text(encoding="utf-8")
    assert "Johnson" in text and "10.1103/PhysRevB.6.4370" in text and "5f69b9115a04" in text


def test_johnson_christy_table_returns_copies():
    lam, n, _ = nps.johnson_christy_table()
    n[0] = -1.0
    assert nps.johnson_christy_table()[1][0] == 1.28


# -- dielectric function ---------------------------------------------------------------------
def test_spline_passes_through_the_tabulated_permittivity():
    lam, n, k = nps.johnson_christy_table()
    eps = nps.gold_permittivity(lam)
    np.testing.assert_allclose(eps, (n + 1j * k) ** 2, rtol=1e-13, atol=1e-13)
    m = nps.gold_refractive_index(lam)
    np.testing.assert_allclose(m.real, n, rtol=1e-12)
    np.testing.assert_allclose(m.imag, k, rtol=1e-12)


def test_permittivity_is_absorbing_everywhere_and_size_correction_adds_damping():
    lam = np.linspace(*nps.GOLD_WAVELENGTH_RANGE, 4001)
    bulk = nps.gold_permittivity(lam)
    assert np.all(bulk.imag > 0)
    small = nps.gold_permittivity(lam, radius=2e-9)
    assert np.all(small.imag > bulk.imag)
    # the correction vanishes for a huge particle and with A = 0
    np.testing.assert_allclose(nps.gold_permittivity(lam, radius=1.0), bulk, rtol=1e-9)
    np.testing.assert_allclose(nps.gold_permittivity(lam, radius=5e-9, damping_A=0.0), bulk, rtol=1e-14)


def test_size_correction_formula():
    lam = 808e-9
    w = gold.HC_EV_M / lam
    wp, gb = gold.PLASMA_ENERGY_EV, gold.BULK_DAMPING_EV
    g_r = gb + 0.75 * gold.HBAR_EV_S * gold.FERMI_VELOCITY / 7e-9
    expected = nps.gold_permittivity(lam) + wp**2 / (w * (w + 1j * gb)) - wp**2 / (w * (w + 1j * g_r))
    assert nps.gold_permittivity(lam, radius=7e-9, damping_A=0.75) == pytest.approx(expected, rel=1e-14)
    assert nps.damping_rate(7e-9, 0.75) == pytest.approx(g_r, rel=1e-14)
    assert nps.damping_rate() == gb


def test_permittivity_scalar_and_array_shapes():
    assert isinstance(nps.gold_permittivity(600e-9), complex)
    lam = np.full((2, 3), 600e-9)
    assert nps.gold_permittivity(lam).shape == (2, 3)


@pytest.mark.parametrize("bad", [150e-9, 2500e-9, 808.0, np.nan, np.inf, -600e-9])
def test_wavelength_outside_the_data_is_refused(bad):
    with pytest.raises(InputError) as excinfo:
        nps.gold_permittivity(bad)
    assert problem_paths(excinfo) == ["wavelength"]
    assert "187.9-1937 nm" in str(excinfo.value)


def test_wavelength_array_error_names_the_element_and_value():
    with pytest.raises(InputError) as excinfo:
        GoldSphere(40e-9).cross_sections([500e-9, 600e-9, 2e-6])
    assert problem_paths(excinfo) == ["wavelength[2]"]
    assert "2e-06" in str(excinfo.value)


def test_permittivity_reports_every_problem():
    with pytest.raises(InputError) as excinfo:
        nps.gold_permittivity(3e-6, radius=-1e-9, damping_A=np.nan)
    assert problem_paths(excinfo) == ["wavelength", "radius", "damping_A"]


def test_empty_or_non_numeric_wavelength():
    for bad in ([], "red"):
        with pytest.raises(InputError) as excinfo:
            nps.gold_permittivity(bad)
        assert problem_paths(excinfo) == ["wavelength"]


# -- particles: bad input --------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, paths",
    [
        (lambda: GoldSphere(-40e-9), ["GoldSphere.diameter"]),
        (lambda: GoldSphere(np.nan), ["GoldSphere.diameter"]),
        (lambda: GoldSphere(40.0), ["GoldSphere.diameter"]),  # nm given as m
        (lambda: GoldSphere(1e-9), ["GoldSphere.diameter"]),  # too small for a plasmon
        (lambda: GoldSphere("40 nm"), ["GoldSphere.diameter"]),
        (lambda: GoldSphere(40e-9, size_correction="yes", damping_A=-0.3),
         ["GoldSphere.size_correction", "GoldSphere.damping_A"]),
        (lambda: GoldNanoshell(120e-9, 1e-9), ["GoldNanoshell.shell_thickness"]),
        (lambda: GoldNanoshell(490e-9, 10e-9), ["GoldNanoshell.core_diameter + 2 shell_thickness"]),
        (lambda: GoldNanoshell(-1.0, np.inf, core_index=1.45 + 0.1j),
         ["GoldNanoshell.core_diameter", "GoldNanoshell.shell_thickness", "GoldNanoshell.core_index"]),
        (lambda: GoldNanoshell(120e-9, 10e-9, core_index=True), ["GoldNanoshell.core_index"]),
        (lambda: GoldNanoshell(120e-9, 10e-9, core_index=0.5), ["GoldNanoshell.core_index"]),
        (lambda: GoldNanorod(10e-9, 40e-9), ["GoldNanorod.length / diameter"]),  # aspect ratio < 1
        (lambda: GoldNanorod(200e-9, 40e-9), ["GoldNanorod.length"]),  # too long for Gans
        (lambda: GoldNanorod(120e-9, 10e-9), ["GoldNanorod.length / diameter"]),  # aspect ratio 12
        (lambda: GoldNanorod(40e-9, 1e-9), ["GoldNanorod.diameter"]),
        (lambda: GoldNanorod(40e-9, 10e-9, optical_aspect_ratio=0.5), ["GoldNanorod.optical_aspect_ratio"]),
        (lambda: GoldNanorod(np.nan, -1.0, damping_A=-1.0),
         ["GoldNanorod.length", "GoldNanorod.diameter", "GoldNanorod.damping_A"]),
    ],
)
def test_particles_refuse_bad_sizes(make, paths):
    with pytest.raises(InputError) as excinfo:
        make()
    assert problem_paths(excinfo) == paths


def test_error_message_gives_value_and_expectation():
    with pytest.raises(InputError) as excinfo:
        GoldSphere(40.0)
    message = str(excinfo.value)
    assert "GoldSphere.diameter = 40.0" in message and "at most 5e-07 m (500 nm)" in message


@pytest.mark.parametrize("particle", [GoldSphere(40e-9), GoldNanoshell(120e-9, 10e-9), GoldNanorod(40e-9, 10e-9)])
def test_cross_sections_refuse_bad_medium_and_wavelength_together(particle):
    with pytest.raises(InputError) as excinfo:
        particle.cross_sections(3e-6, medium_index=0.5)
    assert problem_paths(excinfo) == ["wavelength", "medium_index"]
    with pytest.raises(InputError):
        particle.cross_sections(600e-9, medium_index=np.nan)


def test_rod_orientation_is_checked():
    with pytest.raises(InputError) as excinfo:
        GoldNanorod(40e-9, 10e-9).cross_sections(800e-9, orientation="diagonal")
    assert problem_paths(excinfo) == ["orientation"]


def test_calibration_refuses_unreachable_peaks_and_reports_everything():
    with pytest.raises(InputError) as excinfo:
        GoldNanorod.calibrated(40e-9, 10e-9, 400e-9)
    assert problem_paths(excinfo) == ["peak_wavelength"]
    with pytest.raises(InputError) as excinfo:
        GoldNanorod.calibrated(10e-9, 40e-9, np.nan, medium_index=7.0)
    assert problem_paths(excinfo) == ["GoldNanorod.length / diameter", "medium_index", "peak_wavelength"]


def test_particles_are_frozen():
    sphere = GoldSphere(40e-9)
    with pytest.raises(AttributeError):
        sphere.diameter = 50e-9


# -- particles: geometry and vectorisation ------------------------------------------------------
def test_volumes():
    assert GoldSphere(40e-9).volume == pytest.approx(np.pi / 6 * (40e-9) ** 3, rel=1e-15)
    assert GoldSphere(40e-9).gold_volume == GoldSphere(40e-9).volume
    shell = GoldNanoshell(120e-9, 10e-9)
    assert shell.outer_diameter == pytest.approx(140e-9)
    assert shell.gold_volume == pytest.approx(np.pi / 6 * ((140e-9) ** 3 - (120e-9) ** 3), rel=1e-14)
    rod = GoldNanorod(40e-9, 10e-9)
    assert rod.volume == pytest.approx(4 / 3 * np.pi * 20e-9 * (5e-9) ** 2, rel=1e-14)
    assert rod.aspect_ratio == 4.0


def test_size_correction_lengths():
    assert GoldSphere(40e-9).size_correction_radius == 20e-9
    assert GoldSphere(40e-9, size_correction=False).size_correction_radius is None
    assert GoldNanoshell(120e-9, 10e-9).size_correction_radius == 10e-9
    # 3V/S of a spheroid is the radius for a sphere, and between b and a for a rod
    assert GoldNanorod(20e-9, 20e-9).size_correction_radius == pytest.approx(10e-9, rel=1e-12)
    assert 5e-9 < GoldNanorod(40e-9, 10e-9).size_correction_radius < 7.5e-9


@pytest.mark.parametrize(
    "particle",
    [GoldSphere(40e-9), GoldNanoshell(120e-9, 10e-9), GoldNanorod(40e-9, 10e-9),
     GoldNanorod.calibrated(40e-9, 10e-9, 808e-9)],
    ids=["sphere", "shell", "rod", "calibrated rod"],
)
def test_one_call_for_many_wavelengths_equals_one_call_each(particle):
    lam = np.array([[450e-9, 526e-9, 650e-9], [808e-9, 1064e-9, 1300e-9]])
    many = particle.cross_sections(lam, medium_index=1.37)
    assert many.absorption.shape == many.scattering.shape == many.anisotropy.shape == (2, 3)
    for idx in np.ndindex(lam.shape):
        one = particle.cross_sections(float(lam[idx]), medium_index=1.37)
        assert isinstance(one.absorption, float)
        assert many.absorption[idx] == pytest.approx(one.absorption, rel=1e-13)
        assert many.scattering[idx] == pytest.approx(one.scattering, rel=1e-13)
        assert many.anisotropy[idx] == pytest.approx(one.anisotropy, rel=1e-12, abs=1e-15)
    assert np.all(many.absorption > 0) and np.all(many.scattering > 0)
    np.testing.assert_allclose(many.extinction, many.absorption + many.scattering)
    np.testing.assert_allclose(many.albedo, many.scattering / many.extinction)


def test_rod_orientations_average():
    rod = GoldNanorod(40e-9, 10e-9)
    lam = np.linspace(500e-9, 1000e-9, 11)
    long = rod.cross_sections(lam, orientation="longitudinal")
    trans = rod.cross_sections(lam, orientation="transverse")
    rand = rod.cross_sections(lam)
    np.testing.assert_allclose(rand.absorption, (long.absorption + 2 * trans.absorption) / 3, rtol=1e-14)
    np.testing.assert_allclose(rand.scattering, (long.scattering + 2 * trans.scattering) / 3, rtol=1e-14)
    assert np.all(rand.anisotropy == 0.0)


def test_size_correction_lowers_the_sphere_peak():
    lam = np.linspace(500e-9, 560e-9, 61)
    bulk = GoldSphere(10e-9, size_correction=False).cross_sections(lam).absorption.max()
    corrected = GoldSphere(10e-9).cross_sections(lam).absorption.max()
    strong = GoldSphere(10e-9, damping_A=1.0).cross_sections(lam).absorption.max()
    assert strong < corrected < bulk


# -- layered Mie: input checks ---------------------------------------------------------------
def test_layered_sphere_checks():
    with pytest.raises(InputError) as excinfo:
        nps.layered_sphere_efficiencies([1.5, 1.2 - 0.1j], [2.0, 1.0])
    assert problem_paths(excinfo) == ["m.imag[1]", "x"]
    with pytest.raises(InputError):
        nps.layered_sphere_efficiencies([1.5, 1.2], [1.0])
    qext, qsca, g = nps.coated_sphere_efficiencies(1.45, np.array([0.1 + 4j, 0.2 + 3j]), 1.0, [1.1, 1.2])
    assert qext.shape == qsca.shape == g.shape == (2,)


# -- concentrations --------------------------------------------------------------------------
def test_particles_per_ml():
    assert nps.number_density_from_particles_per_ml(1e9) == 1e15
    arr = nps.number_density_from_particles_per_ml(np.array([0.0, 2e9]))
    np.testing.assert_array_equal(arr, [0.0, 2e15])
    assert nps.particles_per_ml(1e15) == 1e9


def test_gold_mass_conversion_round_trip():
    sphere = GoldSphere(40e-9)
    mass_per_particle = 19300.0 * np.pi / 6 * (40e-9) ** 3  # kg
    n = nps.number_density_from_gold_ug_per_ml(50.0, sphere)
    assert n == pytest.approx(50.0 * 1e-9 / 1e-6 / mass_per_particle, rel=1e-14)
    assert nps.gold_ug_per_ml(n, sphere) == pytest.approx(50.0, rel=1e-14)
    shell = GoldNanoshell(120e-9, 10e-9)
    # only the shell is gold: fewer gold atoms per particle -> more particles per ug than a solid sphere of 140 nm
    assert nps.number_density_from_gold_ug_per_ml(1.0, shell) > nps.number_density_from_gold_ug_per_ml(
        1.0, GoldSphere(140e-9))


def test_nanomolar():
    assert nps.number_density_from_nanomolar(1.0) == pytest.approx(6.02214076e17, rel=1e-15)


def test_number_density_dispatch():
    sphere = GoldSphere(40e-9)
    assert nps.number_density(2e9, "particles/mL") == 2e15
    assert nps.number_density(3e15, "1/m^3") == 3e15
    assert nps.number_density(0.1, "nM") == pytest.approx(6.02214076e16)
    assert nps.number_density(5.0, "ug/mL", sphere) == nps.number_density_from_gold_ug_per_ml(5.0, sphere)
    with pytest.raises(InputError) as excinfo:
        nps.number_density(5.0, "ug/mL")
    assert problem_paths(excinfo) == ["particle"]
    with pytest.raises(InputError) as excinfo:
        nps.number_density(5.0, "mg/kg")
    assert problem_paths(excinfo) == ["unit"]


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf, "lots"])
def test_bad_concentrations_are_refused(bad):
    with pytest.raises(InputError) as excinfo:
        nps.number_density_from_particles_per_ml(bad)
    assert problem_paths(excinfo) == ["particles_per_ml"]
    with pytest.raises(InputError) as excinfo:
        nps.number_density_from_gold_ug_per_ml(bad, "not a particle")
    assert problem_paths(excinfo) == ["gold_ug_per_ml", "particle"]
    with pytest.raises(InputError):
        nps.number_density_from_nanomolar(bad)


def test_bad_concentration_map_names_the_voxel():
    conc = np.ones((2, 2, 2))
    conc[1, 0, 1] = -5.0
    with pytest.raises(InputError) as excinfo:
        nps.number_density_from_particles_per_ml(conc)
    assert problem_paths(excinfo) == ["particles_per_ml[1, 0, 1]"]


# -- distributions: bad input ----------------------------------------------------------------
GRID = Grid((8, 8, 8), 1e-3)


def test_distribution_input_errors():
    good = np.zeros(GRID.shape, bool)
    good[2:5, 2:5, 2:5] = True
    with pytest.raises(InputError) as excinfo:
        nps.uniform(GRID, np.zeros((3, 3, 3), bool), -1.0)
    assert problem_paths(excinfo) == ["mask", "density"]
    with pytest.raises(InputError) as excinfo:
        nps.uniform(GRID, np.zeros(GRID.shape, bool), 1e15)
    assert "empty" in str(excinfo.value)
    with pytest.raises(InputError) as excinfo:
        nps.uniform(GRID, np.full(GRID.shape, 2), 1e15)
    assert problem_paths(excinfo) == ["mask"]
    with pytest.raises(InputError) as excinfo:
        nps.uniform("grid", good, 1e15)
    assert problem_paths(excinfo) == ["grid"]
    with pytest.raises(InputError) as excinfo:
        nps.gaussian(GRID, (1e-3, np.nan, 2e-3), (1e-3, 0.0, 1e-3), total_particles=1e6, peak_density=1e15)
    assert problem_paths(excinfo) == ["centre[1]", "sigma[1]", "total_particles, peak_density"]
    with pytest.raises(InputError) as excinfo:
        nps.gaussian(GRID, (1e-3, 1e-3), 1e-3)
    assert problem_paths(excinfo) == ["centre", "total_particles, peak_density"]
    with pytest.raises(InputError) as excinfo:
        nps.gaussian(GRID, (1.0, 1.0, 1.0), 1e-4, total_particles=1e6)  # nothing reaches the grid
    assert problem_paths(excinfo) == ["centre"]
    with pytest.raises(InputError) as excinfo:
        nps.rim_enhanced(GRID, good, -1.0, rim_width=0.0, enhancement=0.5)
    assert problem_paths(excinfo) == ["mean_density", "rim_width", "enhancement"]
    with pytest.raises(InputError) as excinfo:
        nps.rim_enhanced(GRID, np.ones(GRID.shape, bool), 1e15, rim_width=1e-3, enhancement=3.0)
    assert problem_paths(excinfo) == ["mask"]


def test_integer_masks_are_accepted():
    mask = np.zeros(GRID.shape, int)
    mask[1:3, 1:3, 1:3] = 1
    n = nps.uniform(GRID, mask, 1e15)
    assert n.dtype == np.float64 and n.sum() == 8e15


# -- optics ------------------------------------------------------------------------------------
def test_nanoparticle_optics_shapes():
    n = np.full(GRID.shape, 1e15)
    cs = CrossSections(2.7e-14, 1e-13, 0.1)
    mua, mus, g = nps.nanoparticle_optics(n, cs)
    assert mua.shape == mus.shape == g.shape == GRID.shape
    np.testing.assert_allclose(mua, 27.0)
    np.testing.assert_allclose(mus, 100.0)
    assert np.all(g == 0.1)
    spectrum = GoldNanoshell(120e-9, 10e-9).cross_sections(np.array([700e-9, 808e-9, 900e-9]))
    mua, mus, g = nps.nanoparticle_optics(n, spectrum)
    assert mua.shape == GRID.shape + (3,)
    np.testing.assert_allclose(mua[3, 4, 5], 1e15 * spectrum.absorption)
    np.testing.assert_allclose(g[0, 0, 0], spectrum.anisotropy)


def test_nanoparticle_optics_bad_input():
    with pytest.raises(InputError) as excinfo:
        nps.nanoparticle_optics(np.array([1e15, -1.0]), CrossSections(-1e-14, 1e-13, 1.5))
    assert problem_paths(excinfo) == ["number_density[1]", "cross_sections.absorption", "cross_sections.anisotropy"]
    with pytest.raises(InputError) as excinfo:
        nps.nanoparticle_optics(1e15, (1e-14, 1e-13, 0.0))
    assert problem_paths(excinfo) == ["cross_sections"]


def test_combine_optics():
    tissue = (np.array([50.0, 50.0]), np.array([1e4, 0.0]), np.array([0.9, 0.9]))
    np_ = (np.array([27.0, 27.0]), np.array([100.0, 0.0]), 0.0)
    mua, mus, g = nps.combine_optics(tissue, np_)
    np.testing.assert_allclose(mua, [77.0, 77.0])
    np.testing.assert_allclose(mus, [1.01e4, 0.0])
    np.testing.assert_allclose(g, [0.9 * 1e4 / 1.01e4, 0.0])
    with pytest.raises(InputError) as excinfo:
        nps.combine_optics((1.0, -2.0, 0.0), (1.0, 2.0))
    assert problem_paths(excinfo) == ["components[0].mus", "components[1]"]


# -- docs and imports --------------------------------------------------------------------------
@pytest.mark.parametrize("module", [nps, gold, mie, particles, concentration, distributions, optics],
                         ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_import_does_not_load_miepython():
    code = textwrap.dedent(
        """
        import json, sys
        import phototherm.nanoparticles
        heavy = ("miepython", "numba")
        print(json.dumps(sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in heavy})))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
