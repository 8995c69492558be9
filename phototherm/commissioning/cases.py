"""The reference cases of ``phototherm validate``, one function per physics module.

Each case runs phototherm's public API on a problem whose answer is known
independently (an analytic solution, a published value or an independent
high-accuracy solver) and returns :class:`~phototherm.commissioning.checks.Check`
records. ``size`` is ``"quick"`` (seconds, for CI and a first look) or
``"full"`` (a few minutes on a laptop: finer grids, more photons). The
tolerances are those the test suite justifies in ``tests/validation/``; each
check's ``source`` says where the reference comes from.

Cases run on the CPU in float64 unless a device is given, so that a
commissioning report is comparable between machines; ``device="gpu"`` runs
the GPU paths (float64) against the same references.
"""

from __future__ import annotations

import math

import numpy as np

from .checks import Check

__all__ = ["CASES", "SIZES"]

SIZES = ("quick", "full")


# -- bioheat -----------------------------------------------------------------------
def bioheat(size: str, device: str) -> list[Check]:
    """Periodic Fourier solutions of the Pennes equation (PHYSICS.md section 1)."""
    import phototherm as pt

    k_th, rho, c, w_b, t_a = 0.52, 1050.0, 3600.0, 2e-3, 37.0
    alpha = k_th / (rho * c)
    p = w_b * pt.Blood().volumetric_heat_capacity / (rho * c)
    tissue = pt.ThermalTissue("medium", rho, c, k_th, w_b, 0.0)

    def model(grid, initial):
        return pt.PennesModel(grid, pt.ThermalProperties.uniform(grid, tissue),
                              boundaries=pt.BoundaryConditions(default=pt.Periodic()),
                              arterial_temperature=t_a, initial_temperature=initial)

    # 1. n explicit steps = the discrete-exact Fourier solution, to rounding.
    shape, spacing, n = (12, 10, 8), (0.4e-3, 0.5e-3, 0.3e-3), 60
    grid = pt.Grid(shape, spacing)
    T0 = t_a + 8.0 * np.random.default_rng(1).standard_normal(shape)
    m = model(grid, T0)
    dt = 0.9 * m.critical_dt()
    result = pt.Simulation(m, stop_time=n * dt, dt=dt, device=device, dtype="float64", progress=False).run()
    k = np.meshgrid(*(2 * np.pi * np.fft.fftfreq(nd, d=h) for nd, h in zip(shape, spacing)), indexing="ij")
    lam = sum(4.0 / h**2 * np.sin(kd * h / 2) ** 2 for kd, h in zip(k, spacing))
    exact = np.real(np.fft.ifftn(np.fft.fftn(T0 - t_a) * (1.0 - dt * (alpha * lam + p)) ** n)) + t_a
    checks = [Check("bioheat", f"{n} explicit steps vs the discrete-exact Fourier solution (max |error|)",
                    0.0, float(np.abs(result.temperature - exact).max()), "K", "absolute",
                    n * np.finfo(float).eps * float(np.abs(T0).max()),
                    "PHYSICS.md 1: FTCS amplification factors per Fourier mode; tolerance 1 ulp of T per step")]

    # 2. Second-order convergence to the continuous periodic solution (dt ~ h^2).
    lengths, levels = (8e-3, 6e-3, 4e-3), ((8, 16, 32) if size == "quick" else (12, 24, 48))
    kk = [2 * np.pi / L for L in lengths]
    decay = alpha * sum(x**2 for x in kk) + p
    t_end = 1.0 / decay
    errors = []
    for nn in levels:
        grid = pt.Grid((nn,) * 3, tuple(L / nn for L in lengths))
        X, Y, Z = grid.mesh()
        theta0 = 3.0 * np.cos(kk[0] * X + 0.3) * np.cos(kk[1] * Y) * np.sin(kk[2] * Z + 1.0)
        m = model(grid, t_a + theta0)
        steps = math.ceil(t_end / (0.2 * m.critical_dt()))
        out = pt.Simulation(m, stop_time=t_end, dt=t_end / steps, device=device, dtype="float64",
                            progress=False).run()
        errors.append(float(np.abs(out.temperature - t_a - theta0 * math.exp(-decay * t_end)).max()))
    order = math.log2(errors[-2] / errors[-1])
    checks.append(Check("bioheat", f"order of convergence to the continuous periodic solution (h = L/{levels[-2]}, "
                        f"L/{levels[-1]})", 2.0, order, "1", "absolute", 0.15,
                        "k-Wave bioheatExact form (PHYSICS.md 1); second order in space with dt ~ h^2"))
    return checks


# -- thermal dose ------------------------------------------------------------------
def thermal_dose(size: str, device: str) -> list[Check]:
    """CEM43 and Arrhenius damage against their definitions (PHYSICS.md section 2)."""
    from scipy.integrate import quad

    from ..dose import arrhenius_constant, arrhenius_increment, cem43_increment

    steps = 3600
    cem = float(np.sum(cem43_increment(np.full(steps, 45.0), np.full(steps, 45.0), 1.0)))
    # a linear ramp 40 -> 46 C over 20 min, 1 s steps, against adaptive quadrature
    t = np.linspace(0.0, 1200.0, 1201)
    T = 40.0 + 6.0 * t / 1200.0
    ramp = float(np.sum(cem43_increment(T[:-1], T[1:], 1.0)))

    def rate(s):
        temp = 40.0 + 6.0 * s / 1200.0
        return (0.5 if temp >= 43.0 else 0.25) ** (43.0 - temp) / 60.0

    reference, _ = quad(rate, 0.0, 1200.0, points=[600.0], epsabs=0, epsrel=1e-13)
    A, Ea = 3.1e98, 6.28e5  # skin (Henriques and Moritz 1947)
    omega = float(np.sum(arrhenius_increment(np.full(600, 55.0), np.full(600, 55.0), 1.0, math.log(A),
                                             Ea / 8.314462618)))
    return [
        Check("thermal dose", "CEM43 of 1 h at 45 C", 240.0, cem, "min", "relative", 1e-12,
              "Sapareto and Dewey 1984: R = 0.5 above 43 C, 60 min x 2^2"),
        Check("thermal dose", "CEM43 through a 40 -> 46 C ramp (20 min), exact-in-step integration vs quadrature",
              reference, ramp, "min", "relative", 1e-10, "adaptive quadrature of R^(43 - T(t)) (SciPy quad)"),
        Check("thermal dose", "Arrhenius Omega, skin pair, 10 min at 55 C", float(arrhenius_constant(55.0, 600.0, A, Ea)),
              omega, "1", "relative", 1e-12, "closed form t A exp(-Ea / (R T)) (Henriques and Moritz 1947)"),
    ]


# -- nanoparticles and tissue optics ---------------------------------------------------
def nanoparticles(size: str, device: str) -> list[Check]:
    """Mie anchor of PHYSICS.md section 4: a 40 nm gold sphere in water, bulk J&C gold."""
    from ..nanoparticles import GoldSphere

    sphere = GoldSphere(40e-9, size_correction=False)
    wavelengths = np.arange(480e-9, 580.05e-9, 0.1e-9)
    absorption = sphere.cross_sections(wavelengths).absorption
    i = int(np.argmax(absorption))
    return [
        Check("nanoparticles", "40 nm gold sphere in water: absorption peak", 526.0, float(wavelengths[i] * 1e9), "nm",
              "absolute", 1.0, "PHYSICS.md 4 (Mie, Johnson & Christy bulk gold); 1 nm"),
        Check("nanoparticles", "40 nm gold sphere in water: C_abs at the peak", 3.58e-15, float(absorption[i]), "m^2",
              "relative", 0.01, "PHYSICS.md 4; 1 %"),
    ]


def tissue_optics(size: str, device: str) -> list[Check]:
    """Whole-blood absorption from Prahl's haemoglobin spectra (PHYSICS.md section 3)."""
    from ..tissues import optical_tissue

    blood = optical_tissue("blood", oxygen_saturation=0.75)
    return [
        Check("tissue optics", f"whole blood, S = 0.75, mua at {nm} nm", ref, float(blood.at(nm * 1e-9).mua / 100),
              "1/cm", "absolute", 0.05, "PHYSICS.md 3 (Prahl's tables, 150 g/L haemoglobin); +/- 0.05 1/cm")
        for nm, ref in ((660, 5.6), (808, 4.4))
    ]


# -- light transport -------------------------------------------------------------------
def light(size: str, device: str) -> list[Check]:
    """Monte Carlo thin slab (van de Hulst / MCML) and diffusion vs its Green's function."""
    import phototherm as pt
    from ..light import CollimatedBeam, IsotropicPoint, OpticalMedium, simulate_monte_carlo, solve_diffusion

    wl = 800e-9
    photons = 100_000 if size == "quick" else 1_000_000
    grid = pt.Grid((21, 21, 10), (0.5e-3, 0.5e-3, 0.02e-3))
    slab = OpticalMedium.uniform(grid, mua=1000.0, mus=9000.0, g=0.75, n=1.0, wavelength=wl)
    beam = CollimatedBeam(power=1.0, wavelength=wl, position=(5.25e-3, 5.25e-3, 0.0), direction=(0, 0, 1))
    mc = simulate_monte_carlo(slab, beam, photons=photons, seed=0, device=device, dtype="float64", progress=False)
    e, se = mc.energy, mc.energy_error
    source = f"van de Hulst (MCML paper, Wang et al. 1995); tolerance 3 standard errors ({photons:.0e} photons)"
    checks = [
        Check("light", "Monte Carlo thin slab (mua 10/cm, mus 90/cm, g 0.75, 0.2 mm): diffuse reflectance",
              0.09739, float(e.diffuse_reflectance), "1", "absolute", 3 * float(se.diffuse_reflectance), source),
        Check("light", "Monte Carlo thin slab: total transmittance", 0.66096, float(e.transmittance), "1", "absolute",
              3 * float(se.transmittance), source),
    ]
    if size == "full":  # MCX's cube60 benchmark (about 10 s of CPU)
        cube60 = pt.Grid((60, 60, 60), 1e-3)
        medium = OpticalMedium.uniform(cube60, mua=5.0, mus=1000.0, g=0.01, n=1.37, wavelength=wl, ambient_index=1.37)
        pencil = CollimatedBeam(power=1.0, wavelength=wl, position=(30e-3, 30e-3, 0.0), direction=(0, 0, 1))
        mc = simulate_monte_carlo(medium, pencil, photons=200_000, seed=0, device=device, dtype="float64",
                                  progress=False)
        checks.append(Check("light", "Monte Carlo MCX cube60 (60 mm cube, mua 0.005/mm, mus 1/mm): absorbed fraction",
                            17.69, 100 * float(mc.energy.absorbed), "%", "absolute", 0.2,
                            "MCX benchmark value; 0.2 points (3 standard errors at 2e5 photons: 0.16)"))
    # Diffusion: point source in a large cube vs exp(-mu_eff r) / (4 pi D r), 8 voxels from the source.
    mua, musp = 80.0, 1000.0
    D = 1 / (3 * (mua + musp))
    mu_eff = math.sqrt(mua / D)
    h = (0.25 if size == "quick" else 0.125) / mu_eff
    n = 2 * round(7 / (h * mu_eff)) + 1
    cube = pt.Grid((n, n, n), h)
    medium = OpticalMedium.uniform(cube, mua=mua, mus=musp / 0.1, g=0.9, n=1.37, wavelength=wl)
    centre = n * h / 2
    result = solve_diffusion(medium, IsotropicPoint(power=1.0, wavelength=wl, position=(centre,) * 3),
                             device=device, dtype="float64", rtol=1e-10)
    offset = round(2.0 / (h * mu_eff))  # r = 2 / mu_eff
    r = offset * h
    value = float(result.fluence_rate[n // 2 + offset, n // 2, n // 2])
    checks.append(Check("light", f"diffusion point source vs Green's function at r = 2/mu_eff (h mu_eff = {h * mu_eff:g})",
                        math.exp(-mu_eff * r) / (4 * math.pi * D * r), value, "W/m^2", "relative",
                        0.025 if size == "quick" else 0.01,
                        "analytic infinite-medium solution; the 7-point stencil's O((h/r)^2) error: 1.8 % at 8 voxels "
                        "from the source, a quarter of that at 16 (tests/validation/test_diffusion_reference.py)"))
    return checks


# -- photodynamic therapy --------------------------------------------------------------------
def photodynamic(size: str, device: str) -> list[Check]:
    """Singlet-oxygen kinetics vs SciPy's Radau at rtol 1e-9 (PHYSICS.md section 5)."""
    from scipy.integrate import solve_ivp

    from ..pdt import PDTState, advance, photosensitizer

    pf = photosensitizer("photofrin")
    s0, o0 = 7.0, pf.oxygen_initial
    checks = []
    for phi in ((10.0, 500.0) if size == "quick" else (10.0, 50.0, 150.0, 500.0)):  # mW/cm^2
        def rhs(t, y, phi=phi):
            s, o, _ = y
            r = pf.xi * phi * s * o / (o + pf.beta)
            return [-pf.sigma * (s + pf.delta) * r, -r + pf.g * (1 - o / o0), r]

        ref = solve_ivp(rhs, (0.0, 1000.0), [s0, o0, 0.0], method="Radau", rtol=1e-9, atol=1e-12).y[2, -1]
        state = PDTState.initial((1,), s0, o0)
        for _ in range(100):
            advance(state, phi * 10.0, 10.0, pf)  # 1 mW/cm^2 = 10 W/m^2
        checks.append(Check("photodynamic", f"Photofrin [1O2]rx after 1000 s at {phi:g} mW/cm^2 (10 s steps)",
                            float(ref), float(state.singlet_oxygen_reacted[0]), "uM", "relative", 1e-3,
                            "SciPy Radau at rtol 1e-9 (independent stiff solver); 0.1 % planning requirement"))
    # Dark interval: oxygen recovers toward [3O2]0 at the supply rate g.
    state = PDTState.initial((1,), s0, 10.0)
    advance(state, 0.0, 30.0, pf)
    checks.append(Check("photodynamic", "oxygen recovery over 30 s of dark from 10 uM",
                        o0 - (o0 - 10.0) * math.exp(-pf.g * 30.0 / o0), float(state.oxygen[0]), "uM", "relative",
                        1e-12, "analytic solution of d[3O2]/dt = g (1 - [3O2]/[3O2]0)"))
    # Oxygen diffusion between impermeable walls: a cosine mode decays by the split-scheme factor.
    from ..backend import resolve_backend
    from ..grid import Grid
    from ..pdt.oxygen_diffusion import OxygenDiffusion

    xp = resolve_backend(device, "float64").xp
    n, h, dt, steps, diffusivity = 32, 50e-6, 0.5, 20, 2e-9
    grid = Grid((n, 2, 2), h)
    k = math.pi / (n * h)
    profile = np.cos(k * grid.centres(0))[:, None, None] * np.ones(grid.shape)
    state = PDTState.initial(grid.shape, s0, xp.asarray(o0 + 10.0 * profile), xp=xp)
    diffusion = OxygenDiffusion(diffusivity, grid, xp, np.float64)
    for _ in range(steps):
        advance(state, 0.0, dt, pf)
        diffusion.step(state.oxygen, dt)
    oxygen = np.asarray(state.oxygen.get() if hasattr(state.oxygen, "get") else state.oxygen)
    amplitude = float(np.sum((oxygen - o0) * profile) / np.sum(profile * profile))
    lam = (2 - 2 * math.cos(k * h)) / h**2
    factor = math.exp(-pf.g * dt / o0) / (1 + diffusivity * dt * lam)
    checks.append(Check("photodynamic", "oxygen diffusion + supply: cosine mode amplitude after 20 steps of 0.5 s",
                        10.0 * factor**steps, amplitude, "uM", "relative", 1e-8,
                        "exact factor exp(-g dt/[3O2]0) / (1 + D dt lambda_h) per step (the operators commute on "
                        "the mode); CG tolerance"))
    return checks


#: Case name -> function(size, device) -> list of Check, in report order.
CASES = {
    "bioheat": bioheat,
    "thermal dose": thermal_dose,
    "nanoparticles": nanoparticles,
    "tissue optics": tissue_optics,
    "light": light,
    "photodynamic": photodynamic,
}
