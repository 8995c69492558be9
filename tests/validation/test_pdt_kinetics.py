"""PDT singlet-oxygen kinetics (PHYSICS.md section 5) against references.

The NumPy twin :func:`phototherm.pdt.kinetics.advance` (adaptive ROS3, exact
dark solution) is compared with:

* SciPy's Radau (``rtol=1e-9, atol=1e-12``) on constant and piecewise-constant
  (fractionated) fluence rates;
* closed forms: the dark-interval oxygen recovery, and the linear growth of
  [1O2]rx when oxygen is not depleted and the sensitizer not yet bleached.

Photofrin constants (Wang et al. 2009, Table 1; g and [3O2]0 typical values)
are written here, independently of ``phototherm.pdt.photosensitizers``.
Fluence rates are given to :func:`advance` in SI (W/m^2 = 10 x mW/cm^2).
"""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from phototherm.errors import InputError
from phototherm.pdt.kinetics import (
    W_PER_M2_PER_MW_PER_CM2,
    PDTState,
    advance,
    pdt_dose_rate,
    photon_energy,
)

PHOTOFRIN = SimpleNamespace(xi=3.7e-3, beta=11.9, delta=33.0, sigma=7.6e-5, g=0.7, oxygen_initial=40.0)
S0_INITIAL = 7.0  # uM
EXTINCTION = 0.35  # 1/(m uM) = 0.0035 1/(cm uM), Photofrin at 630 nm
WAVELENGTH = 630e-9  # m
MW_CM2 = W_PER_M2_PER_MW_PER_CM2  # W/m^2 per mW/cm^2


def model_rhs(params, phi):
    """The model written out again (phi in mW/cm^2), plus d/dt of the integral of [S0]."""

    def f(t, y):
        s, o, _, _ = y
        r = params.xi * phi * s * o / (o + params.beta)
        return [-params.sigma * (s + params.delta) * r,
                -r + params.g * (1.0 - o / params.oxygen_initial), r, s]

    return f


def radau(schedule, params=PHOTOFRIN, y0=(S0_INITIAL, 40.0)):
    """Radau through ``[(duration s, phi mW/cm^2), ...]``, restarted at every switch.

    Returns ([S0], [3O2], [1O2]rx) at the end and the PDT dose [photons/m^3].
    """
    y = [y0[0], y0[1], 0.0, 0.0]
    dose = 0.0
    for duration, phi in schedule:
        y = [y[0], y[1], y[2], 0.0]
        sol = solve_ivp(model_rhs(params, phi), (0.0, duration), y, method="Radau", rtol=1e-9, atol=1e-12)
        assert sol.success
        y = list(sol.y[:, -1])
        dose += EXTINCTION * y[3] * phi * MW_CM2 / photon_energy(WAVELENGTH)
    return np.array(y[:3]), dose


def run(schedule, dt, shape=(1,), params=PHOTOFRIN, **kwargs):
    """The twin through the same schedule, steps of ``dt`` (each interval a multiple of dt)."""
    state = PDTState.initial(shape, S0_INITIAL, 40.0)
    for duration, phi in schedule:
        n = round(duration / dt)
        assert n * dt == pytest.approx(duration)
        for _ in range(n):
            advance(state, phi * MW_CM2, dt, params, extinction=EXTINCTION, wavelength=WAVELENGTH, **kwargs)
    return state


def values(state, i=0):
    return np.array([state.s0.flat[i], state.oxygen.flat[i], state.singlet_oxygen_reacted.flat[i]])


@pytest.mark.parametrize("dt", [1.0, 10.0])
@pytest.mark.parametrize("phi", [10.0, 50.0, 150.0, 500.0])
def test_constant_fluence_rate_matches_radau(phi, dt):
    """1000 s of constant light: [S0], [3O2], [1O2]rx and PDT dose within 0.1 % of Radau.

    0.1 % is the planning requirement (thresholds are known to ~10 %); at the
    default rtol = 1e-6 the measured deviation is 1e-7 or less for every
    component (including [3O2] ~ 1 uM at 500 mW/cm^2) with dt = 1 s or 10 s,
    and Radau's own error at rtol 1e-9 is far below either.
    """
    ref, ref_dose = radau([(1000.0, phi)])
    state = run([(1000.0, phi)], dt)
    got = values(state)
    assert got == pytest.approx(ref, rel=1e-3)
    assert state.pdt_dose[0] == pytest.approx(ref_dose, rel=1e-3)
    assert state.fluence[0] == pytest.approx(phi * MW_CM2 * 1000.0, rel=1e-12)
    assert state.time == pytest.approx(1000.0)
    # the sensitizer and oxygen were really consumed (the test is not trivial)
    assert got[0] < 0.95 * S0_INITIAL and got[1] < 0.8 * PHOTOFRIN.oxygen_initial


def test_no_light_at_equilibrium_changes_nothing():
    """phi = 0 with [3O2] = [3O2]0: every field stays exactly as it was (bit for bit)."""
    state = PDTState.initial((3, 2, 2), np.linspace(0.0, 11.0, 12).reshape(3, 2, 2), 40.0)
    before = {k: v.copy() for k, v in vars(state).items() if isinstance(v, np.ndarray)}
    for _ in range(50):
        advance(state, 0.0, 7.0, PHOTOFRIN, extinction=EXTINCTION, wavelength=WAVELENGTH)
    for name, array in before.items():
        np.testing.assert_array_equal(getattr(state, name), array, err_msg=name)


def test_no_light_only_oxygen_relaxes():
    """phi = 0 below [3O2]0: [S0], [1O2]rx, fluence and dose unchanged; [3O2] follows the exact solution.

    One long dark step and many short ones both equal
    ``[3O2]0 - ([3O2]0 - [3O2](0)) exp(-g t / [3O2]0)``; the short steps
    compound one rounding per step (1e-12 relative is ~5e3 ulp, ample).
    """
    o_start = np.array([0.0, 3.0, 20.0, 39.0])
    for steps, dt in ((1, 120.0), (120, 1.0)):
        state = PDTState.initial((4,), 7.0, o_start)
        state.singlet_oxygen_reacted[:] = 100.0
        for _ in range(steps):
            advance(state, np.zeros(4), dt, PHOTOFRIN)
        exact = 40.0 - (40.0 - o_start) * np.exp(-0.7 * 120.0 / 40.0)
        np.testing.assert_allclose(state.oxygen, exact, rtol=1e-12)
        np.testing.assert_array_equal(state.s0, 7.0)
        np.testing.assert_array_equal(state.singlet_oxygen_reacted, 100.0)
        np.testing.assert_array_equal(state.fluence, 0.0)
        np.testing.assert_array_equal(state.pdt_dose, 0.0)


def test_linear_growth_without_depletion():
    """Large supply, early times: [1O2]rx = xi phi [S0]0 [3O2]0 / ([3O2]0 + beta) t.

    Regime: g = 1e5 uM/s, so oxygen sits within R [3O2]0 / g ~ 1e-3 uM of
    [3O2]0 after a 4e-4 s transient (rate change < 1e-5); t <= 0.1 s at
    150 mW/cm^2 (R ~ 3 uM/s), so photobleaching lowers [S0] by
    sigma ([S0] + delta) R t / [S0] < 1.3e-4 and bends the line by half that
    (6.5e-5). Tolerance 1e-4 relative (the deviation at 1 s, 6.5e-4, is
    visible, so the check would catch a wrong bleaching term's sign or size).
    """
    params = SimpleNamespace(**{**vars(PHOTOFRIN), "g": 1e5})
    phi = 150.0
    rate = params.xi * phi * S0_INITIAL * 40.0 / (40.0 + params.beta)
    state = PDTState.initial((1,), S0_INITIAL, 40.0)
    for step in range(1, 11):
        advance(state, phi * MW_CM2, 0.01, params)
        assert state.singlet_oxygen_reacted[0] == pytest.approx(rate * 0.01 * step, rel=1e-4)
        assert state.oxygen[0] == pytest.approx(40.0, rel=1e-4)


def test_dark_interval_recovers_oxygen_at_supply_rate():
    """After 200 s at 150 mW/cm^2, 300 s of darkness follow the analytic recovery.

    The light period must have depleted oxygen (< 10 uM) for the test to mean
    anything; the dark period is the exact formula applied step by step
    (1e-12 relative, compounded rounding), and [S0], [1O2]rx freeze exactly.
    """
    state = run([(200.0, 150.0)], 1.0)
    o_dark_start = state.oxygen[0]
    s_frozen, x_frozen = state.s0[0], state.singlet_oxygen_reacted[0]
    assert o_dark_start < 10.0
    for step in range(1, 301):
        advance(state, 0.0, 1.0, PHOTOFRIN)
        if step % 50 == 0:
            exact = 40.0 - (40.0 - o_dark_start) * np.exp(-0.7 * step / 40.0)
            assert state.oxygen[0] == pytest.approx(exact, rel=1e-12)
    assert state.s0[0] == s_frozen and state.singlet_oxygen_reacted[0] == x_frozen


@pytest.mark.parametrize("dt", [1.0, 10.0])
def test_fractionated_light_matches_radau(dt):
    """30 s on / 30 s off at 150 mW/cm^2 for 600 s: within 0.1 % of piecewise Radau.

    Measured deviation ~1e-8; fractionation must also beat continuous light
    delivering the same fluence in singlet oxygen per fluence (oxygen
    recovers in the dark), which checks the physics, not only the numbers.
    """
    schedule = [(30.0, 150.0), (30.0, 0.0)] * 10
    ref, ref_dose = radau(schedule)
    state = run(schedule, dt)
    assert values(state) == pytest.approx(ref, rel=1e-3)
    assert state.pdt_dose[0] == pytest.approx(ref_dose, rel=1e-3)
    continuous, _ = radau([(300.0, 150.0)])
    assert state.singlet_oxygen_reacted[0] > 1.05 * continuous[2]


def test_many_voxels_equal_single_voxel_runs():
    """One call on a 3-D grid of different fluence rates (0 included) equals one voxel at a time.

    Voxels are independent and take their own sub-steps; the only possible
    difference is vectorised vs scalar rounding of the step-size controller's
    power, far below 1e-10 relative.
    """
    rng = np.random.default_rng(1)
    phis = rng.choice([0.0, 5.0, 10.0, 50.0, 150.0, 500.0, 1000.0], size=(4, 3, 2))
    schedule_dt = 5.0
    state = PDTState.initial(phis.shape, S0_INITIAL, 40.0)
    for _ in range(40):
        advance(state, phis * MW_CM2, schedule_dt, PHOTOFRIN, extinction=EXTINCTION, wavelength=WAVELENGTH)
    for i, phi in enumerate(phis.flat):
        single = run([(200.0, float(phi))], schedule_dt)
        np.testing.assert_allclose(values(state, i), values(single), rtol=1e-10, atol=1e-12)
        assert state.pdt_dose.flat[i] == pytest.approx(single.pdt_dose[0], rel=1e-10, abs=0.0)


def test_concentrations_stay_non_negative_when_stiff():
    """Extreme light and sensitizer, long steps: [S0], [3O2] stay >= 0 and the result still matches Radau."""
    state = PDTState.initial((1,), 50.0, 40.0)
    ref, _ = radau([(300.0, 2000.0)], y0=(50.0, 40.0))
    for _ in range(10):
        advance(state, 2000.0 * MW_CM2, 30.0, PHOTOFRIN)
        assert state.s0[0] >= 0.0 and state.oxygen[0] >= 0.0
    assert values(state) == pytest.approx(ref, rel=1e-3)


def test_pdt_dose_rate_units():
    """mua_s phi / (h c / lambda): 0.35/(m uM) x 7 uM x 1000 W/m^2 at 630 nm."""
    energy = 6.62607015e-34 * 299792458.0 / 630e-9
    assert pdt_dose_rate(1000.0, 7.0, 0.35, 630e-9) == pytest.approx(0.35 * 7.0 * 1000.0 / energy, rel=1e-14)


def test_bad_input_is_reported_with_paths():
    state = PDTState.initial((2, 2), 7.0, 40.0)
    state.oxygen[1, 0] = -1.0
    state.s0[0, 1] = np.nan
    params = SimpleNamespace(**{**vars(PHOTOFRIN), "beta": 0.0})
    with pytest.raises(InputError) as info:
        advance(state, np.array([[10.0, -5.0], [np.inf, 0.0]]), 0.0, params)
    paths = {p.path for p in info.value.problems}
    assert {"state.oxygen[1, 0]", "state.s0[0, 1]", "fluence_rate[0, 1]", "dt", "params.beta"} <= paths
    problem = next(p for p in info.value.problems if p.path == "state.oxygen[1, 0]")
    assert problem.value == -1.0 and ">= 0" in problem.expected
    with pytest.raises(InputError, match="dt"):
        advance(PDTState.initial((1,), 7.0, 40.0), 100.0, -1.0, PHOTOFRIN)
    with pytest.raises(InputError, match="s0"):
        PDTState.initial((2,), -7.0, 40.0)
