"""Unit tests of the diffusion light solver and the Fresnel helpers.

Mechanics (source set-up, ray march, boundaries, bookkeeping, warnings, bad
input) on small grids; the analytic references are in
tests/validation/test_diffusion_reference.py.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erf

import phototherm as pt
from phototherm.bioheat import Convective
from phototherm.errors import InputError, SolverDidNotConverge
from phototherm.light import CollimatedBeam, CylindricalDiffuser, IsotropicPoint, LightSource, OpticalMedium
from phototherm.light.diffusion import (
    DiffusionResult,
    LightModelWarning,
    _cloud_in_cell,
    _emission_points,
    boundary_sink,
    solve_diffusion,
)
from phototherm.light.fresnel import (
    effective_reflectance,
    extrapolated_boundary_factor,
    fresnel_reflectance,
    transmitted_cosine,
)

WL = 808e-9
# a typical soft tissue near 800 nm: mua 0.5 /cm, mus' 10 /cm (mua/mus' = 0.05)
MUA, MUS, G = 50.0, 10000.0, 0.9


def uniform(shape=(15, 15, 15), h=0.5e-3, n=1.37, ambient=1.0, mua=MUA, mus=MUS, g=G):
    grid = pt.Grid(shape, h)
    return OpticalMedium.uniform(grid, mua=mua, mus=mus, g=g, n=n, wavelength=WL, ambient_index=ambient)


def point(position, power=1.0):
    return IsotropicPoint(power=power, wavelength=WL, position=position)


def beam(position, direction=(0, 0, 1), radius=0.0, profile="flat"):
    return CollimatedBeam(power=1.0, wavelength=WL, position=position, direction=direction, radius=radius,
                          profile=profile)


# -- Fresnel -----------------------------------------------------------------------
def test_fresnel_normal_incidence_and_limits():
    for n1, n2 in ((1.0, 1.37), (1.4, 1.0), (1.33, 1.5)):
        assert float(fresnel_reflectance(n1, n2, 1.0)) == pytest.approx(((n1 - n2) / (n1 + n2)) ** 2, rel=1e-14)
    assert float(fresnel_reflectance(1.37, 1.37, 0.3)) == 0.0  # no interface
    assert float(fresnel_reflectance(1.0, 1.4, 0.0)) == 1.0  # grazing
    assert float(fresnel_reflectance(1.4, 1.0, 0.5)) == 1.0  # beyond the critical angle (cos 45.6 deg = 0.70)
    assert float(transmitted_cosine(1.4, 1.0, 0.5)) == 0.0


def test_fresnel_brewster_angle_and_reciprocity():
    n1, n2 = 1.0, 1.5
    theta_b = math.atan(n2 / n1)  # r_p = 0 there: R = r_s^2 / 2
    ci = math.cos(theta_b)
    ct = float(transmitted_cosine(n1, n2, ci))
    rs = (n1 * ci - n2 * ct) / (n1 * ci + n2 * ct)
    assert float(fresnel_reflectance(n1, n2, ci)) == pytest.approx(0.5 * rs**2, rel=1e-13)
    # Stokes reciprocity: the same reflectance seen from either side
    cos_in = np.linspace(0.05, 1.0, 20)
    cos_t = transmitted_cosine(n1, n2, cos_in)
    np.testing.assert_allclose(fresnel_reflectance(n2, n1, cos_t), fresnel_reflectance(n1, n2, cos_in), rtol=1e-12)
    # Snell
    sin_i, sin_t = np.sqrt(1 - cos_in**2), np.sqrt(1 - cos_t**2)
    np.testing.assert_allclose(n1 * sin_i, n2 * sin_t, rtol=1e-12)


def test_fresnel_is_vectorised_and_keeps_float32():
    n_out = np.array([1.33, 1.37, 1.45], dtype=np.float32)
    cos_in = np.linspace(0, 1, 7, dtype=np.float32)[:, None]
    R = fresnel_reflectance(np.float32(1.0), n_out, cos_in)
    assert R.shape == (7, 3) and R.dtype == np.float32
    assert np.all((R >= 0) & (R <= 1))
    np.testing.assert_allclose(R, fresnel_reflectance(1.0, n_out.astype(float), cos_in.astype(float)), rtol=1e-5)


@pytest.mark.parametrize("m", [1.33, 1.37, 1.40, 1.55, 0.8, 0.999, 1.0001])
def test_effective_reflectance_matches_adaptive_quadrature(m):
    def R(t):
        return float(fresnel_reflectance(m, 1.0, math.cos(t)))

    kw = dict(points=[math.asin(1 / m)] if m > 1 else None, epsabs=1e-15, epsrel=1e-13, limit=400)
    r_phi = quad(lambda t: 2 * math.sin(t) * math.cos(t) * R(t), 0, math.pi / 2, **kw)[0]
    r_j = quad(lambda t: 3 * math.sin(t) * math.cos(t) ** 2 * R(t), 0, math.pi / 2, **kw)[0]
    assert effective_reflectance(m) == pytest.approx((r_phi + r_j) / (2 - r_phi + r_j), abs=1e-12)


def test_matched_boundary_has_A_one_and_arrays_work():
    assert effective_reflectance(1.0) == 0.0
    A = extrapolated_boundary_factor(np.array([[1.0, 1.37], [1.4, 1.0]]))
    assert A.shape == (2, 2) and A[0, 0] == 1.0 and A[1, 1] == 1.0


def test_boundary_sink_is_the_bioheat_convective_conductance():
    """The Robin boundary is the bioheat film-in-series formula with hc = 1/(2A), k = D."""
    D, h, A = 3.0e-4, 0.4e-3, 2.759
    assert boundary_sink(D, h, A) == pytest.approx(Convective(1 / (2 * A), 0.0).conductance(D, h), rel=1e-14)


# -- interstitial sources ----------------------------------------------------------
def test_cloud_in_cell_weights():
    grid = pt.Grid((4, 5, 6), 1e-3)
    # at a voxel centre: one voxel
    flat, w = _cloud_in_cell(grid, np.array([[1.5e-3, 2.5e-3, 3.5e-3]]), np.ones(1))
    dense = np.bincount(flat, w, minlength=grid.size).reshape(grid.shape)
    assert dense[1, 2, 3] == pytest.approx(1.0) and dense.sum() == pytest.approx(1.0)
    # at a corner shared by 8 voxels: 1/8 each
    flat, w = _cloud_in_cell(grid, np.array([[2e-3, 2e-3, 3e-3]]), np.ones(1))
    dense = np.bincount(flat, w, minlength=grid.size).reshape(grid.shape)
    np.testing.assert_allclose(dense[1:3, 1:3, 2:4], 0.125)
    # within half a voxel of a face: the outer weight folds onto the outermost voxel
    flat, w = _cloud_in_cell(grid, np.array([[0.2e-3, 2.5e-3, 3.5e-3]]), np.array([0.7]))
    dense = np.bincount(flat, w, minlength=grid.size).reshape(grid.shape)
    assert dense[0, 2, 3] == pytest.approx(0.7) and dense.sum() == pytest.approx(0.7)


def test_diffuser_emission_points_are_uniform_along_the_segment():
    grid = pt.Grid((10, 10, 10), 0.5e-3)
    fibre = CylindricalDiffuser(power=2.0, wavelength=WL, position=(2.5e-3, 2.5e-3, 2.5e-3),
                                direction=(1, 1, 0), length=2e-3)
    pts, w = _emission_points(grid, fibre)
    assert len(pts) >= 16 and w.sum() == pytest.approx(1.0)
    start, end = map(np.asarray, fibre.ends)
    np.testing.assert_allclose(pts.mean(axis=0), fibre.position, atol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(pts[1:] - pts[:-1], axis=1), 2e-3 / len(pts), rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(pts[0] - start), 1e-3 / len(pts), rtol=1e-9)


def test_point_source_field_is_symmetric_and_per_watt():
    m = uniform((15, 15, 15))
    r1 = solve_diffusion(m, point((3.75e-3,) * 3), device="cpu")
    r5 = solve_diffusion(m, point((3.75e-3,) * 3, power=5.0), device="cpu")
    np.testing.assert_array_equal(r1.fluence_rate, r5.fluence_rate)  # results are per watt
    phi = r1.fluence_rate
    for axes in ((1, 0, 2), (2, 1, 0), (0, 2, 1)):
        np.testing.assert_allclose(phi.transpose(axes), phi, rtol=1e-7)
    np.testing.assert_allclose(phi[::-1], phi, rtol=1e-7)
    np.testing.assert_array_equal(r1.absorbed_power_density, MUA * phi)
    assert r1.collimated_fluence_rate is None and r1.diffuse_fluence_rate is r1.fluence_rate


def test_point_source_field_moves_continuously():
    """Trilinear spreading: a 1 um move changes the field by O(1 um / h), not a voxel jump."""
    m = uniform((14, 14, 14))
    a = solve_diffusion(m, point((3.5e-3, 3.5e-3, 3.5e-3)), device="cpu", rtol=1e-12).fluence_rate
    b = solve_diffusion(m, point((3.501e-3, 3.5e-3, 3.5e-3)), device="cpu", rtol=1e-12).fluence_rate
    assert np.abs(b - a).max() / a.max() < 5 * 1e-6 / 0.5e-3


def test_diffuser_is_the_mean_of_points_along_it():
    """Linearity: the diffuser's field is the mean of point sources at its emission points."""
    m = uniform((10, 10, 10))
    fibre = CylindricalDiffuser(power=1.0, wavelength=WL, position=(2.4e-3, 2.6e-3, 2.5e-3),
                                direction=(1, 2, 2), length=2e-3)
    d = solve_diffusion(m, fibre, device="cpu", rtol=1e-12).fluence_rate
    pts, w = _emission_points(m.grid, fibre)
    assert len(pts) == 16
    mean = sum(wi * solve_diffusion(m, point(tuple(p)), device="cpu", rtol=1e-12).fluence_rate
               for p, wi in zip(pts, w))
    np.testing.assert_allclose(d, mean, rtol=1e-9)


# -- collimated beams ------------------------------------------------------------
def test_pencil_beam_puts_all_collimated_light_in_one_column():
    m = uniform((9, 9, 12), mua=50.0)
    r = solve_diffusion(m, beam((2.25e-3, 2.25e-3, 0.0)), device="cpu")
    ec = r.collimated_fluence_rate
    lit = np.argwhere(ec.max(axis=2) > 0)
    assert lit.tolist() == [[4, 4]]
    e = r.energy_balance()
    assert e["specular_reflection_W"] == pytest.approx(((1.37 - 1) / 2.37) ** 2, rel=1e-14)
    assert e["missed_W"] == 0.0


def test_normal_flat_beam_collimated_fluence_is_exact():
    """E_c in a voxel is the exact mean of (1 - R) I0 exp(-mu_t' z) over it (I0 = 1/(pi R^2))."""
    h, radius = 0.5e-3, 2.0e-3
    m = uniform((15, 15, 10), h=h)
    r = solve_diffusion(m, beam((3.75e-3, 3.75e-3, 0.0), radius=radius), device="cpu")
    mut = MUA + MUS * (1 - G)
    z = m.grid.centres("z")
    R = ((1.37 - 1) / 2.37) ** 2
    expected = (1 - R) / (math.pi * radius**2) * np.exp(-mut * z) * np.sinh(mut * h / 2) / (mut * h / 2)
    # the disc's anti-aliased sampling at pitch h/16 leaves ~1e-4 in its area, hence the centre irradiance
    np.testing.assert_allclose(r.collimated_fluence_rate[7, 7], expected, rtol=5e-4)
    # what the beam loses plus what reaches z_max is exactly what entered
    e = r.energy_balance()
    removed = float((mut * r.collimated_fluence_rate).sum()) * m.grid.cell_volume
    assert e["collimated_exit_W"] == pytest.approx((1 - R) * math.exp(-mut * 5e-3), rel=1e-12)
    assert removed + e["collimated_exit_W"] == pytest.approx(1 - R, rel=1e-14)


def test_oblique_pencil_in_matched_medium_follows_its_line():
    """n = ambient: no reflection, no refraction; the beam's loss equals 1 - exp(-mu_t' L) over its path."""
    h = 0.5e-3
    grid = pt.Grid((16, 8, 8), h)
    mut = 300.0  # weak attenuation, so light reaches the far face
    m = OpticalMedium.uniform(grid, mua=20.0, mus=2800.0, g=0.9, n=1.0, wavelength=WL)
    direction = np.array([1.0, 0.0, 0.5]) / math.sqrt(1.25)
    start = np.array([1.05e-3, 2.1e-3, 0.0])
    r = solve_diffusion(m, beam(tuple(start), direction=tuple(direction)), device="cpu")
    e = r.energy_balance()
    assert e["specular_reflection_W"] == 0.0
    # the line leaves through x_max (x = 8 mm) at z = 3.47 mm < 4 mm: path length
    L = (8e-3 - start[0]) / direction[0]
    assert e["collimated_exit_W"] == pytest.approx(math.exp(-mut * L), rel=1e-12)
    ec = r.collimated_fluence_rate
    power_path = ec * grid.cell_volume  # power x path length per voxel [W m]
    assert power_path.sum() == pytest.approx((1 - math.exp(-mut * L)) / mut, rel=1e-12)
    # every lit voxel is crossed by the line (distance from the line below half a voxel diagonal)
    X, Y, Z = grid.mesh()
    rel = np.stack([X - start[0], Y - start[1], Z - start[2]], axis=-1)
    dist = np.linalg.norm(rel - (rel @ direction)[..., None] * direction, axis=-1)
    assert dist[ec > 0].max() < h * math.sqrt(3) / 2
    assert np.all(ec[:, :4] == 0) and np.all(ec[:, 5:] == 0)  # y stays in column 4 (y = 2.1 mm)


def test_oblique_beam_is_refracted_and_reflected():
    n = 1.4
    grid = pt.Grid((40, 9, 20), 0.25e-3)
    m = OpticalMedium.uniform(grid, mua=5.0, mus=1000.0, g=0.9, n=n, wavelength=WL)
    theta = math.radians(45)
    direction = (math.sin(theta), 0.0, math.cos(theta))
    r = solve_diffusion(m, beam((2.0e-3, 1.125e-3, 0.0), direction=direction), device="cpu")
    e = r.energy_balance()
    assert e["specular_reflection_W"] == pytest.approx(float(fresnel_reflectance(1.0, n, math.cos(theta))), rel=1e-13)
    sin_t = math.sin(theta) / n
    tan_t = sin_t / math.sqrt(1 - sin_t**2)
    ec = r.collimated_fluence_rate.sum(axis=1)  # (x, z)
    x, z = grid.centres("x"), grid.centres("z")
    centroid = (ec * x[:, None]).sum(axis=0) / ec.sum(axis=0)
    # voxel-centre centroids lie within half a voxel of the refracted line, and a
    # line fitted through them over 16 layers has the refracted slope
    line = 2.0e-3 + z * tan_t
    assert np.abs(centroid - line)[:16].max() <= 0.5 * 0.25e-3
    slope = np.polyfit(z[:16], centroid[:16], 1)[0]
    assert slope == pytest.approx(tan_t, rel=0.02)
    assert abs(slope - math.tan(theta)) > 0.3  # not the unrefracted direction


def test_gaussian_tail_beyond_the_face_is_missed():
    """A Gaussian whose 1/e^2 radius w equals the face half-width a misses 1 - erf(sqrt(2) a / w)^2."""
    grid = pt.Grid((12, 12, 6), 0.5e-3)
    m = OpticalMedium.uniform(grid, mua=MUA, mus=MUS, g=G, n=1.37, wavelength=WL)
    r = solve_diffusion(m, beam((3e-3, 3e-3, 0.0), radius=3e-3, profile="gaussian"), device="cpu")
    expected = 1 - erf(math.sqrt(2)) ** 2
    assert r.energy_balance()["missed_W"] == pytest.approx(expected, rel=1e-12)  # exact erf cell integrals


def test_oblique_gaussian_is_sampled_accurately():
    """Oblique (midpoint) sampling: the missed tail agrees with the normal-incidence exact value.

    A 1/e^2 radius w = 2 mm tilted by 20 deg about the y axis has a footprint
    w / cos(20 deg) = 2.13 mm along x; on a 6.5 x 6.5 mm face centred on it,
    the power on the face is erf(sqrt(2) a cos / w) erf(sqrt(2) a / w)
    (a = 3.25 mm). The midpoint sum at pitch p = h/8 = 62.5 um errs by
    p^2 / 24 |g'(a)| per face edge and axis (g: the 1-D profile; 1.1e-6 here),
    ~5e-6 in all (measured 5.4e-6).
    """
    grid = pt.Grid((13, 13, 6), 0.5e-3)
    m = OpticalMedium.uniform(grid, mua=MUA, mus=MUS, g=G, n=1.37, wavelength=WL)
    tilt = math.radians(20)
    r = solve_diffusion(m, beam((3.25e-3, 3.25e-3, 0.0), radius=2e-3, profile="gaussian",
                                direction=(math.sin(tilt), 0.0, math.cos(tilt))), device="cpu")
    a, w = 3.25e-3, 2e-3
    expected = 1 - erf(math.sqrt(2) * a * math.cos(tilt) / w) * erf(math.sqrt(2) * a / w)
    assert r.energy_balance()["missed_W"] == pytest.approx(expected, abs=1e-5)


def test_beam_through_another_face_is_the_same_field_rotated():
    """A beam entering through x_max along -x equals a z_min beam along +z with the axes permuted."""
    m = uniform((8, 10, 12))
    along_z = solve_diffusion(m, beam((2.0e-3, 2.5e-3, 0.0), radius=1.2e-3, direction=(0.2, 0.1, 1.0)),
                              device="cpu", rtol=1e-12)
    grid_x = pt.Grid((12, 10, 8), 0.5e-3)  # (x, y, z) of the rotated grid = (6 mm - z, y, x)
    mx = OpticalMedium.uniform(grid_x, mua=MUA, mus=MUS, g=G, n=1.37, wavelength=WL)
    along_x = solve_diffusion(mx, beam((6e-3, 2.5e-3, 2.0e-3), radius=1.2e-3, direction=(-1.0, 0.1, 0.2)),
                              device="cpu", rtol=1e-12)
    rotated = along_x.fluence_rate[::-1].transpose(2, 1, 0)
    np.testing.assert_allclose(rotated, along_z.fluence_rate, rtol=1e-9, atol=1e-12 * along_z.fluence_rate.max())


def test_total_internal_reflection_sends_everything_back():
    m = uniform((8, 8, 8), n=1.33, ambient=1.5)
    direction = (math.sin(math.radians(70)), 0.0, math.cos(math.radians(70)))  # beyond asin(1.33/1.5) = 62.5 deg
    r = solve_diffusion(m, beam((2e-3, 2e-3, 0.0), direction=direction), device="cpu")
    e = r.energy_balance()
    assert e["specular_reflection_W"] == 1.0 and e["absorbed_W"] == 0.0
    assert not np.any(r.fluence_rate) and r.iterations == 0


# -- results ------------------------------------------------------------------------
def test_result_bookkeeping():
    m = uniform((10, 11, 12))
    r = solve_diffusion(m, beam((2.5e-3, 2.75e-3, 0.0), radius=1.5e-3, profile="gaussian"), device="cpu")
    assert isinstance(r, DiffusionResult)
    e = r.energy_balance()
    total_exit = sum(float(r.exitance(face).sum()) * area
                     for face, area in zip(pt.grid.FACES, [0.25e-6] * 6))
    assert total_exit == pytest.approx(e["diffuse_exit_W"], rel=1e-12)
    for face, value in e["diffuse_exit_by_face_W"].items():
        assert float(r.exitance(face).sum()) * 0.25e-6 == pytest.approx(value, rel=1e-12, abs=1e-300)
    assert r.exitance("z_min").shape == (10, 11) and r.exitance("x_max").shape == (11, 12)
    host = r.to_host()
    assert type(host.fluence_rate) is np.ndarray and host.iterations == r.iterations
    json.dumps(r.describe())
    assert r.backend["backend"] == "cpu" and r.elapsed_s > 0
    assert r.relative_residual <= 1e-8
    with pytest.raises(InputError):
        r.exitance("top")


def test_float32_agrees_with_float64():
    m = uniform((12, 12, 12))
    src = beam((3e-3, 3e-3, 0.0), radius=1.5e-3)
    r64 = solve_diffusion(m, src, device="cpu", dtype="float64")
    r32 = solve_diffusion(m, src, device="cpu", dtype="float32")
    assert r32.fluence_rate.dtype == np.float32
    scale = r64.fluence_rate.max()
    # CG stops at 1e-5 relative residual in float32; measured difference 1e-6 of the peak
    assert np.abs(r32.fluence_rate - r64.fluence_rate).max() < 5e-5 * scale
    assert abs(r32.energy_balance()["relative_error"]) < 1e-4


def test_iteration_limit_raises():
    with pytest.raises(SolverDidNotConverge):
        solve_diffusion(uniform((10, 10, 10)), point((2.6e-3,) * 3), device="cpu", max_iterations=2)


# -- warnings ------------------------------------------------------------------------
def test_warns_where_absorption_rivals_scattering():
    m = uniform((12, 12, 12))
    mua = np.array(m.mua, copy=True)
    mua[4:8, 4:8, 4:8] = 600.0  # nanoparticle-loaded: mua/mus' = 0.6
    loaded = OpticalMedium(m.grid, mua, m.mus, m.g, m.n, WL)
    with pytest.warns(LightModelWarning, match=r"mua/mus' .*montecarlo") as record:
        solve_diffusion(loaded, point((3e-3, 3e-3, 3e-3)), device="cpu")
    message = str(record[0].message)
    assert "0.6" in message and "[" in message  # names the ratio and the voxel
    assert issubclass(LightModelWarning, UserWarning)


def test_quiet_in_ordinary_tissue_and_when_the_loaded_share_is_small():
    m = uniform((12, 12, 12))
    mua = np.array(m.mua, copy=True)
    mua[0, 0, 11] = 600.0  # a loaded corner voxel far from the source: far below 1 % of the absorption
    corner = OpticalMedium(m.grid, mua, m.mus, m.g, m.n, WL)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LightModelWarning)
        solve_diffusion(m, point((3e-3, 3e-3, 3e-3)), device="cpu")
        solve_diffusion(corner, point((3e-3, 3e-3, 1e-3)), device="cpu")


def test_non_absorbing_medium_sends_everything_out_and_a_pure_absorber_warns():
    m = uniform((8, 8, 8), mua=0.0)
    r = solve_diffusion(m, point((2e-3, 2e-3, 2e-3)), device="cpu", rtol=1e-12)
    e = r.energy_balance()
    assert e["absorbed_W"] == 0.0 and e["diffuse_exit_W"] == pytest.approx(1.0, abs=1e-10)
    absorber = uniform((8, 8, 8), mua=20.0, mus=0.0)  # transport > 0, but mua / mus' is infinite
    with pytest.warns(LightModelWarning, match="inf"):
        solve_diffusion(absorber, point((2e-3, 2e-3, 2e-3)), device="cpu")


# -- bad input -------------------------------------------------------------------------
def test_bad_input_is_reported_at_once():
    m = uniform((6, 6, 6))
    mus = np.array(m.mus, copy=True)
    mua = np.array(m.mua, copy=True)
    mus[1, 2, 3] = mua[1, 2, 3] = 0.0
    clear = OpticalMedium(m.grid, mua, mus, m.g, m.n, WL)
    wrong = IsotropicPoint(power=1.0, wavelength=633e-9, position=(9e-3, 1e-3, 1e-3))
    with pytest.raises(InputError) as info:
        solve_diffusion(clear, wrong, rtol=2.0, max_iterations=0, supersampling=0)
    text = str(info.value)
    paths = [p.path for p in info.value.problems]
    for expected in ("sources[0].position", "sources[0].wavelength", "medium.mua[1, 2, 3], medium.mus[1, 2, 3]",
                     "rtol", "max_iterations", "supersampling"):
        assert expected in paths, (expected, paths)
    assert "montecarlo" in text and "1 of 216" in text


def test_rejects_what_is_not_a_medium_or_a_supported_source():
    with pytest.raises(InputError, match="an OpticalMedium"):
        solve_diffusion(np.zeros((3, 3, 3)), point((1e-3,) * 3))

    class Laser(LightSource):
        kind_name = "point"

    with pytest.raises(InputError, match="CollimatedBeam, IsotropicPoint or CylindricalDiffuser"):
        solve_diffusion(uniform((6, 6, 6)), Laser(power=1.0, wavelength=WL))
