"""Unit tests of the Monte Carlo driver and its NumPy twin.

Random numbers against a plain-Python reference, the sampling functions
against their distributions, source geometry (profiles, Snell refraction,
missed light), units and normalisation of the results, input validation and
the result object. Statistical checks use tolerances of 4-5 standard errors
(false-alarm rate below 1e-4 per check); the seeds are fixed, so they are
deterministic anyway.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import phototherm as pt
from phototherm.errors import InputError
from phototherm.light import CollimatedBeam, CylindricalDiffuser, IsotropicPoint, OpticalMedium
from phototherm.light.montecarlo import (
    MonteCarloResult,
    kernel_arguments,
    pack_problem,
    simulate_monte_carlo,
)
from phototherm.light.montecarlo_twin import (
    NUM_TALLIES,
    TALLY_NAMES,
    _hg_cosine,
    _rotate,
    fresnel,
    mc_transport_twin,
    next_uint64,
    photon_streams,
    uniform,
)
from tests.support.mc_cases import WAVELENGTH as WL
from tests.support.mc_cases import centre_beam, run

MASK = (1 << 64) - 1


def medium(shape=(10, 10, 10), spacing=0.5e-3, **props):
    values = dict(mua=100.0, mus=5000.0, g=0.8, n=1.4, ambient_index=1.0)
    values.update(props)
    return OpticalMedium.uniform(pt.Grid(shape, spacing), wavelength=WL, **values)


# -- random numbers ------------------------------------------------------------------
def _py_mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def _py_xoroshiro(s0, s1, count):
    out = []
    for _ in range(count):
        out.append((s0 + s1) & MASK)
        s1 ^= s0
        s0 = (((s0 << 24) | (s0 >> 40)) & MASK) ^ s1 ^ ((s1 << 16) & MASK)
        s1 = ((s1 << 37) | (s1 >> 27)) & MASK
    return out


def test_splitmix64_matches_its_published_sequence():
    # splitmix64 started at 1234567 (reference values of Vigna's splitmix64.c)
    state, outputs = 1234567, []
    for _ in range(3):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        outputs.append(_py_mix(state))
    assert outputs == [6457827717110365317, 3203168211198807973, 9817491932198370423]


@pytest.mark.parametrize("seed", [0, 1, 2**64 - 1])
def test_streams_match_a_plain_python_xoroshiro128plus(seed):
    photons = np.array([0, 1, 7, 2**40 + 3], dtype=np.uint64)
    state = photon_streams(seed, photons)
    outputs = np.array([next_uint64(state) for _ in range(5)])
    base = _py_mix((seed + 0x9E3779B97F4A7C15) & MASK)
    for k, i in enumerate(int(p) for p in photons):
        s0 = _py_mix((base + (2 * i + 1) * 0x9E3779B97F4A7C15) & MASK)
        s1 = _py_mix((base + (2 * i + 2) * 0x9E3779B97F4A7C15) & MASK)
        assert [int(v) for v in outputs[:, k]] == _py_xoroshiro(s0, s1, 5)


def test_uniforms_use_the_top_bits_and_stay_in_the_unit_interval():
    state = np.array([[0, MASK], [0, MASK]], dtype=np.uint64)   # outputs 0 and 2^64 - 2
    u64 = uniform(state.copy(), np.float64)
    u32 = uniform(state.copy(), np.float32)
    assert u64[0] == 0.0 and u32[0] == 0.0
    assert u64[1] == 1.0 - 2.0**-53 and u32[1] == np.float32(1.0 - 2.0**-24)
    assert u64.dtype == np.float64 and u32.dtype == np.float32
    draws = uniform(photon_streams(3, np.arange(200_000)), np.float64)
    assert 0.0 <= draws.min() and draws.max() < 1.0
    assert abs(draws.mean() - 0.5) < 5 * math.sqrt(1 / 12 / draws.size)


def test_streams_of_neighbouring_photons_and_seeds_are_uncorrelated():
    a = uniform(photon_streams(0, np.arange(100_000)), np.float64)
    b = uniform(photon_streams(0, np.arange(1, 100_001)), np.float64)
    c = uniform(photon_streams(1, np.arange(100_000)), np.float64)
    for x, y in ((a, b), (a, c)):
        assert abs(np.corrcoef(x, y)[0, 1]) < 5 / math.sqrt(a.size)


# -- sampling functions ------------------------------------------------------------------
@pytest.mark.parametrize("g", [0.0, 0.01, 0.75, 0.95, -0.5])
def test_henyey_greenstein_mean_cosine_is_g(g):
    xi = uniform(photon_streams(11, np.arange(200_000)), np.float64)
    ct = _hg_cosine(np.full(xi.size, g), xi, np.float64)
    assert np.all(np.abs(ct) <= 1.0)
    se = ct.std() / math.sqrt(ct.size)
    assert abs(ct.mean() - g) < 5 * se
    # second moment of Henyey-Greenstein: (1 + 2 g^2) / 3
    assert abs((ct**2).mean() - (1 + 2 * g * g) / 3) < 5 * (ct**2).std() / math.sqrt(ct.size)


def test_rotation_keeps_unit_length_and_the_requested_angle():
    rng = photon_streams(5, np.arange(10_000))
    u = np.stack([np.full(10_000, 0.0), np.full(10_000, 0.0), np.where(np.arange(10_000) % 2, 1.0, -1.0)])
    u[:, :5000] = np.random.default_rng(0).normal(size=(3, 5000))
    u /= np.linalg.norm(u, axis=0)
    ct = 2 * uniform(rng, np.float64) - 1
    new = np.stack(_rotate(u, ct, uniform(rng, np.float64), np.float64))
    np.testing.assert_allclose(np.linalg.norm(new, axis=0), 1.0, atol=1e-14)
    np.testing.assert_allclose((new * u).sum(axis=0), ct, atol=1e-12)


def test_fresnel_reflectance():
    n1, n2 = 1.0, 1.5
    # normal incidence
    tir, R, ct = fresnel(np.array([n1]), np.array([n2]), np.array([1.0]))
    assert not tir[0] and ct[0] == 1.0 and R[0] == pytest.approx(((n2 - n1) / (n2 + n1)) ** 2, rel=1e-15)
    # oblique: the textbook sin/tan form (MCML)
    ti = np.radians(np.array([10.0, 40.0, 70.0, 89.0]))
    tir, R, ct = fresnel(np.full(4, n1), np.full(4, n2), np.cos(ti))
    tt = np.arcsin(n1 / n2 * np.sin(ti))
    ref = 0.5 * (np.sin(ti - tt) ** 2 / np.sin(ti + tt) ** 2 + np.tan(ti - tt) ** 2 / np.tan(ti + tt) ** 2)
    np.testing.assert_allclose(R, ref, rtol=1e-12)
    np.testing.assert_allclose(ct, np.cos(tt), rtol=1e-14)
    # from the dense side: total internal reflection beyond the critical angle
    crit = math.asin(n1 / n2)
    cos_i = np.cos(np.array([crit - 0.01, crit + 0.01]))
    tir, R, _ = fresnel(np.full(2, n2), np.full(2, n1), cos_i)
    assert list(tir) == [False, True] and 0 < R[0] < 1
    # grazing incidence reflects everything
    tir, R, _ = fresnel(np.array([n1]), np.array([n2]), np.array([0.0]))
    assert R[0] == 1.0


def test_twin_fresnel_agrees_with_the_shared_fresnel_module():
    """The twin keeps its own copy (it mirrors the kernel's expressions); it must equal light.fresnel's."""
    fresnel_module = pytest.importorskip("phototherm.light.fresnel")
    cos_i = np.linspace(0.0, 1.0, 201)
    for n_in, n_out in ((1.0, 1.4), (1.4, 1.0), (1.33, 1.5), (1.5, 1.33)):
        tir, R, ct = fresnel(np.full(cos_i.size, n_in), np.full(cos_i.size, n_out), cos_i)
        reference = fresnel_module.fresnel_reflectance(n_in, n_out, cos_i)
        np.testing.assert_allclose(np.where(tir, 1.0, R), reference, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(ct[~tir], fresnel_module.transmitted_cosine(n_in, n_out, cos_i)[~tir], rtol=1e-14)


# -- sources ----------------------------------------------------------------------------
def transparent(shape=(21, 21, 4), spacing=(0.25e-3, 0.25e-3, 0.25e-3), n=1.0, ambient_index=1.0):
    """No absorption, no scattering: the fluence tally is the photons' path length per voxel."""
    return OpticalMedium.uniform(pt.Grid(shape, spacing), mua=0.0, mus=0.0, g=0.0, n=n, wavelength=WL,
                                 ambient_index=ambient_index)


@pytest.mark.parametrize("profile", ["flat", "gaussian"])
def test_beam_profiles_match_their_intensity_per_voxel(profile):
    """Photons per voxel of the first layer against the profile integrated over each voxel."""
    med = transparent()
    radius, h, photons = 2.0e-3, 0.25e-3, 20_000
    res = run(med, centre_beam(med.grid, radius=radius, profile=profile), photons=photons)
    # fraction of photons crossing each voxel of the first layer (0.25 mm straight down)
    hits = res.fluence_rate[:, :, 0] * med.grid.cell_volume / h
    assert hits.sum() == pytest.approx(1.0 - res.energy.missed, rel=1e-12)
    # the profile integrated over each voxel (40 x 40 points each), per unit power
    sub = (np.arange(21 * 40) + 0.5) * h / 40 - 21 * h / 2
    r2 = sub[:, None] ** 2 + sub[None, :] ** 2
    if profile == "flat":
        density = (r2 < radius**2) / (np.pi * radius**2)
    else:
        density = np.exp(-2 * r2 / radius**2) / (np.pi * radius**2 / 2)
    expected = density.reshape(21, 40, 21, 40).sum(axis=(1, 3)) * (h / 40) ** 2
    se = np.sqrt(expected * (1 - expected) / photons)
    assert np.all(np.abs(hits - expected) <= 5 * se + 2e-4)


def test_oblique_beam_refracts_by_snell_and_reflects_fresnel_specular():
    n, theta = 1.5, math.radians(40)
    med = transparent(shape=(40, 5, 20), spacing=(0.25e-3, 1e-3, 0.1e-3), n=n)
    beam = CollimatedBeam(power=1.0, wavelength=WL, position=(1e-3, 2.5e-3, 0.0),
                          direction=(math.sin(theta), 0.0, math.cos(theta)))
    res = run(med, beam, photons=4000)
    tir, R, ct = fresnel(np.array([1.0]), np.array([n]), np.array([math.cos(theta)]))
    assert res.energy.specular == pytest.approx(R[0], rel=1e-12)
    # path of the refracted ray: x advances by tan(theta_t) per unit depth
    sin_t = math.sin(theta) / n
    tan_t = sin_t / math.sqrt(1 - sin_t**2)
    layer = res.fluence_rate[:, :, 10].sum(axis=1)      # at depth 1.05 mm (voxel centre)
    x = med.grid.centres("x")
    x_mean = (layer * x).sum() / layer.sum()
    assert x_mean == pytest.approx(1e-3 + tan_t * 1.05e-3, abs=0.25e-3 / 2)


def test_gaussian_tails_off_the_face_are_missed():
    """A Gaussian as wide as the face allows: exp(-2 r^2 / w^2) beyond the edge, per axis."""
    med = transparent(shape=(8, 8, 2), spacing=(0.25e-3, 0.25e-3, 0.25e-3))
    w = 1e-3  # the face half-width: the widest the validation accepts
    res = run(med, centre_beam(med.grid, radius=w, profile="gaussian"), photons=40_000)
    inside_1d = math.erf(math.sqrt(2))          # P(|x| < w) for sigma = w / 2
    expected = 1 - inside_1d**2
    assert res.energy.missed == pytest.approx(expected, abs=5 * res.energy_error.missed)
    assert res.energy.escaped["z_max"] == pytest.approx(1 - res.energy.missed, abs=1e-12)


def test_point_and_diffuser_emit_isotropically_from_the_right_place():
    med = transparent(shape=(20, 20, 20), spacing=0.5e-3)
    point = IsotropicPoint(power=1.0, wavelength=WL, position=(5e-3, 5e-3, 5e-3))
    res = run(med, point, photons=30_000)
    esc = np.array(list(res.energy.escaped.values()))
    err = np.array(list(res.energy_error.escaped.values()))
    assert np.all(np.abs(esc - 1 / 6) < 5 * err)
    # a diffuser along x through the centre: symmetric about its axis and its middle
    line = CylindricalDiffuser(power=1.0, wavelength=WL, position=(5e-3, 5e-3, 5e-3), direction=(1, 0, 0),
                               length=8e-3)
    res = run(med, line, photons=30_000)
    e, s = res.energy.escaped, res.energy_error.escaped
    for a, b in (("x_min", "x_max"), ("y_min", "z_min"), ("y_max", "z_max"), ("y_min", "y_max")):
        assert abs(e[a] - e[b]) < 5 * math.hypot(s[a], s[b])
    # emitted uniformly along the segment: the path per x-slab is flat over its middle
    slab = res.fluence_rate.sum(axis=(1, 2))[6:14]
    slab_se = np.sqrt((res.fluence_rate_error**2).sum(axis=(1, 2)))[6:14]
    assert np.all(np.abs(slab - slab.mean()) < 5 * slab_se + 0.02 * slab.mean())


# -- units, normalisation, accounting ---------------------------------------------------------
def test_absorbed_power_density_integrates_to_the_absorbed_fraction():
    med = medium()
    res = run(med, centre_beam(med.grid, radius=1e-3))
    np.testing.assert_allclose(res.absorbed_power_density, med.mua * res.fluence_rate)
    total = res.absorbed_power_density.sum() * med.grid.cell_volume   # [W per W]
    assert total == pytest.approx(res.energy.absorbed, rel=1e-10)
    assert abs(res.energy_residual) < 1e-12


def test_fluence_of_a_transparent_slab_is_irradiance_over_cosine():
    """Collimated light through a matched, non-interacting slab: phi = 1 / (beam area x cos)."""
    med = transparent(shape=(10, 10, 3), spacing=(1e-3, 1e-3, 0.1e-3))
    theta = math.radians(30)
    beam = CollimatedBeam(power=1.0, wavelength=WL, position=(5e-3, 5e-3, 0.0),
                          direction=(math.sin(theta), 0.0, math.cos(theta)), radius=2e-3)
    res = run(med, beam, photons=20_000)
    # total fluence x volume = path length = thickness / cos per photon
    total = res.fluence_rate.sum() * med.grid.cell_volume
    assert total == pytest.approx(0.3e-3 / math.cos(theta), rel=1e-10)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("roulette", [True, False])
def test_energy_is_conserved_exactly(dtype, roulette):
    med = medium(mua=300.0, mus=20_000.0, n=1.45)
    res = run(med, centre_beam(med.grid, radius=1.5e-3), photons=1500, roulette=roulette, dtype=dtype)
    assert abs(res.energy_residual) < 1e-12
    if not roulette:
        assert res.energy.roulette_balance == 0.0 and res.energy_error.roulette_balance == 0.0


def test_twin_stops_trapped_light_after_max_steps():
    """A clear, dense cube in air traps some light forever by total internal reflection."""
    med = transparent(shape=(4, 4, 4), spacing=1e-3, n=2.0)
    problem = pack_problem(med, IsotropicPoint(power=1.0, wavelength=WL, position=(2e-3, 2.1e-3, 1.9e-3)),
                           "float64")
    fluence, tallies = np.zeros(med.grid.shape), np.zeros(NUM_TALLIES)
    mc_transport_twin(*kernel_arguments(problem, problem.props, fluence, tallies, problem.source, seed=1,
                                        first_photon=0, photon_count=2000, max_steps=500))
    named = dict(zip(TALLY_NAMES, tallies))
    assert named["trapped"] > 0
    escaped = sum(v for k, v in named.items() if k.startswith("escaped"))
    assert escaped + named["trapped"] == pytest.approx(2000, rel=1e-12)


# -- reproducibility ---------------------------------------------------------------------------
def test_results_depend_only_on_the_seed_not_on_batching():
    med = medium(mua=200.0, mus=8000.0)
    beam = centre_beam(med.grid, radius=1e-3)
    a = run(med, beam, seed=7, batches=4)
    b = run(med, beam, seed=7, batches=4)
    c = run(med, beam, seed=7, batches=9)
    d = run(med, beam, seed=8, batches=4)
    np.testing.assert_array_equal(a.fluence_rate, b.fluence_rate)
    assert a.energy == b.energy and a.energy_error == b.energy_error
    # the same photons in other batches: same totals up to summation order
    np.testing.assert_allclose(c.fluence_rate, a.fluence_rate, rtol=1e-12, atol=1e-12 * a.fluence_rate.max())
    assert c.energy.absorbed == pytest.approx(a.energy.absorbed, rel=1e-12)
    assert not np.array_equal(d.fluence_rate, a.fluence_rate)
    assert d.energy.absorbed != a.energy.absorbed


def test_float32_agrees_with_float64_statistically():
    med = medium(mua=200.0, mus=8000.0)
    beam = centre_beam(med.grid, radius=1e-3)
    a = run(med, beam, photons=4000, dtype="float64")
    b = run(med, beam, photons=4000, dtype="float32")
    assert b.device["dtype"] == "float32"
    for name in ("absorbed", "escaped_total"):
        va, vb = getattr(a.energy, name), getattr(b.energy, name)
        ea, eb = getattr(a.energy_error, name), getattr(b.energy_error, name)
        # the same photons: far closer than independent runs would be
        assert abs(va - vb) < 0.5 * math.hypot(ea, eb)


# -- statistics ------------------------------------------------------------------------------
def test_standard_errors_match_the_spread_of_independent_runs():
    med = medium(mua=200.0, mus=8000.0)
    beam = centre_beam(med.grid, radius=1e-3)
    runs = [run(med, beam, photons=1000, seed=s) for s in range(12)]
    values = np.array([r.energy.absorbed for r in runs])
    errors = np.array([r.energy_error.absorbed for r in runs])
    # the reported SE estimates the run-to-run standard deviation (10 batches: +-25 % each)
    ratio = values.std(ddof=1) / errors.mean()
    assert 0.5 < ratio < 1.6
    voxel = np.unravel_index(np.argmax(runs[0].fluence_rate), med.grid.shape)
    phi = np.array([r.fluence_rate[voxel] for r in runs])
    phi_se = np.array([r.fluence_rate_error[voxel] for r in runs])
    assert 0.5 < phi.std(ddof=1) / phi_se.mean() < 1.6


# -- the result object ---------------------------------------------------------------------------
def test_result_fields_units_and_summary():
    med = medium()
    res = run(med, centre_beam(med.grid), photons=500, batches=5, seed=2)
    assert isinstance(res, MonteCarloResult)
    assert res.fluence_rate.shape == med.grid.shape and res.fluence_rate_error.shape == med.grid.shape
    assert res.photons == 500 and res.batches == 5 and res.seed == 2 and res.roulette
    assert res.device["backend"] == "cpu" and res.elapsed_s > 0 and res.photons_per_ms > 0
    assert res.energy.entry_face == "z_min"
    assert res.energy.diffuse_reflectance == res.energy.escaped["z_min"]
    assert res.energy.transmittance == res.energy.escaped["z_max"]
    assert res.energy.escaped_total == pytest.approx(sum(res.energy.escaped.values()), rel=1e-12)
    # specular of a normal beam: ((n - 1) / (n + 1))^2, no uncertainty
    assert res.energy.specular == pytest.approx((0.4 / 2.4) ** 2, rel=1e-12)
    assert res.energy_error.specular == pytest.approx(0.0, abs=1e-15)
    summary = json.loads(json.dumps(res.describe()))
    assert summary["photons"] == 500 and summary["energy_fraction"]["escaped"]["z_min"] > 0
    with pytest.raises(AttributeError):
        res.photons = 3   # frozen
    point = run(med, IsotropicPoint(power=1.0, wavelength=WL, position=(2.5e-3, 2.5e-3, 2.5e-3)), photons=200,
                batches=2)
    assert point.energy.diffuse_reflectance is None and point.energy.transmittance is None


def test_progress_bar_runs(capsys):
    med = medium()
    run(med, centre_beam(med.grid), photons=200, batches=2, progress=True)
    assert "Monte Carlo" in capsys.readouterr().err


def test_shared_progress_bar_modes(capsys):
    """The bar Monte Carlo and Simulation share: True at once, None only after 2 s, False or no work never."""
    from phototherm.progress import ProgressBar

    for show, total, shown in ((True, 3, True), (None, 3, False), (False, 3, False), (True, 0, False)):
        with ProgressBar(total, unit="step", description="bar test", show=show) as bar:
            bar.update(total)
        assert ("bar test" in capsys.readouterr().err) == shown, (show, total)


# -- bad input ----------------------------------------------------------------------------------
def _problems(**kwargs):
    med = medium()
    args = dict(medium=med, source=centre_beam(med.grid), photons=100, device="cpu", progress=False)
    args.update(kwargs)
    with pytest.raises(InputError) as info:
        simulate_monte_carlo(args.pop("medium"), args.pop("source"), **args)
    return {p.path: p for p in info.value.problems}


@pytest.mark.parametrize("photons", [0, -5, 2.5, True, "100"])
def test_bad_photon_counts(photons):
    assert "photons" in _problems(photons=photons)


@pytest.mark.parametrize("batches", [1, 0, 101, 2.0, None])
def test_bad_batches(batches):
    problems = _problems(batches=batches)
    assert "batches" in problems and "2" in problems["batches"].expected


def test_bad_seed_roulette_progress_all_reported_at_once():
    problems = _problems(seed=-1, roulette="yes", progress="verbose", photons=0)
    assert {"seed", "roulette", "progress", "photons"} <= set(problems)


def test_bad_sources_and_medium():
    med = medium()
    problems = _problems(source=CollimatedBeam(power=1.0, wavelength=WL, position=(1.0, 1.0, 1.0)))
    assert any(p.startswith("source[0].position") for p in problems)
    problems = _problems(source=IsotropicPoint(power=1.0, wavelength=650e-9, position=(2e-3, 2e-3, 2e-3)))
    assert "source[0].wavelength" in problems
    problems = _problems(source="laser")
    assert "source[0]" in problems
    problems = _problems(medium=np.zeros((3, 3, 3)), source=centre_beam(med.grid))
    assert "medium" in problems
